using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;

namespace Relay.Sources.Sovos;

/// <summary>One message read off the stream: its SSE event type (<c>message</c> for NDJSON) and its data bytes.</summary>
internal readonly record struct StreamMessage(string EventType, byte[] Data);

/// <summary>
/// Reads the messages of an open Sovos stream, as SSE (<c>data:</c> frames; comments, <c>id:</c> and <c>retry:</c>
/// handled by <see cref="SseParser"/>) or as newline-delimited JSON, chosen by the configured format or, when that is
/// <c>auto</c>, by the response's content type. A frame longer than the limit fails the stream (<see cref="FrameLimitStream"/>).
/// </summary>
internal static class SovosStreamReader
{
    public static bool IsSse(SovosStreamFormat format, string? mediaType) => format switch
    {
        SovosStreamFormat.Sse => true,
        SovosStreamFormat.NdJson => false,
        _ => string.Equals(mediaType, "text/event-stream", StringComparison.OrdinalIgnoreCase),
    };

    public static IAsyncEnumerable<StreamMessage> ReadAsync(Stream stream, bool sse, int maxFrameBytes, CancellationToken cancellationToken)
    {
        var bounded = new FrameLimitStream(stream, sse, maxFrameBytes);
        return sse ? ReadSseAsync(bounded, cancellationToken) : ReadNdJsonAsync(bounded, cancellationToken);
    }

    private static async IAsyncEnumerable<StreamMessage> ReadSseAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parser = SseParser.Create(stream, static (type, data) => data.ToArray());
        await foreach (var item in parser.EnumerateAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return new StreamMessage(item.EventType, item.Data);
        }
    }

    private static async IAsyncEnumerable<StreamMessage> ReadNdJsonAsync(Stream stream, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(stream, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true);
        while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            yield return new StreamMessage(SseParser.EventTypeDefault, Encoding.UTF8.GetBytes(line));
        }
    }
}

/// <summary>
/// Fails the stream when one frame grows past a limit, before a parser buffers it: an SSE event (up to its blank line)
/// or an NDJSON line. The parsers above keep a whole frame in memory, so a frame that never ends would otherwise grow
/// until the process runs out of memory. Counts the bytes of the frame in progress as they are read; line breaks
/// (CR, LF or CRLF) are not counted.
/// </summary>
internal sealed class FrameLimitStream(Stream inner, bool sse, int maxFrameBytes) : Stream
{
    private long _frameBytes;
    private bool _atLineStart = true;
    private bool _afterCarriageReturn;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Count(buffer.Span[..read]);
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private void Count(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            if (b == (byte)'\n' && _afterCarriageReturn)
            {
                // The LF of a CRLF: the CR already ended the line.
                _afterCarriageReturn = false;
                continue;
            }

            if (b is (byte)'\r' or (byte)'\n')
            {
                // NDJSON: every line is a frame. SSE: a blank line (a line break at the start of a line) ends the event.
                if (!sse || _atLineStart)
                {
                    _frameBytes = 0;
                }

                _atLineStart = true;
                _afterCarriageReturn = b == (byte)'\r';
                continue;
            }

            _atLineStart = false;
            _afterCarriageReturn = false;
            if (++_frameBytes > maxFrameBytes)
            {
                throw new ConnectorException(
                    $"a frame grew past {maxFrameBytes} bytes without ending (maxFrameBytes); the stream is closed and reopened");
            }
        }
    }
}

/// <summary>
/// Fails a read that waits longer than the idle timeout, so a connection that died silently (no FIN, e.g. dropped by
/// a NAT) is noticed and reopened. Heartbeats, comments included, count as activity.
/// </summary>
internal sealed class IdleTimeoutStream(Stream inner, TimeSpan idleTimeout, TimeProvider time) : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        using var idle = new CancellationTokenSource(idleTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, idle.Token);
        try
        {
            return await inner.ReadAsync(buffer, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"nothing received for {idleTimeout.TotalSeconds:0.#} s");
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("The stream is read asynchronously.");

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
