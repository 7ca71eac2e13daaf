using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Relay.Ingress;

/// <summary>How reading a webhook body ended.</summary>
internal enum BodyReadOutcome
{
    Read,

    /// <summary>Larger than <c>ingress.maxBodyBytes</c>: 413.</summary>
    TooLarge,

    /// <summary>Reading it would exceed <c>ingress.maxBufferedBytes</c>: 503, the vendor retries.</summary>
    OverBudget,
}

/// <summary>
/// A webhook body read in full, with its share of the <see cref="IngressBodyBudget"/>; disposing it (once the request
/// is answered) gives the share back.
/// </summary>
internal sealed class RequestBody : IDisposable
{
    /// <summary>The first buffer is the announced length up to this; it doubles from there as bytes actually arrive.</summary>
    private const int FirstBufferLimit = 64 * 1024;

    private readonly IngressBodyBudget _budget;
    private long _share;

    private RequestBody(IngressBodyBudget budget) => _budget = budget;

    public BodyReadOutcome Outcome { get; private set; }

    public byte[] Bytes { get; private set; } = [];

    /// <summary>
    /// Reads the body. A sender's <c>Content-Length</c> is not trusted for more than the first buffer, so an announced
    /// body that never arrives holds little. Throws what the body stream throws when the sender goes away or is too slow.
    /// </summary>
    public static async Task<RequestBody> ReadAsync(HttpRequest request, long maxBytes, IngressBodyBudget budget, CancellationToken cancellationToken)
    {
        var body = new RequestBody(budget);
        try
        {
            body.Outcome = await body.FillAsync(request, maxBytes, cancellationToken).ConfigureAwait(false);
            return body;
        }
        catch
        {
            body.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _budget.Give(Interlocked.Exchange(ref _share, 0));
    }

    private async Task<BodyReadOutcome> FillAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes)
        {
            return BodyReadOutcome.TooLarge;
        }

        // Our own limit governs webhook paths; Kestrel's global one is for pass-through traffic.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = null;
        }

        // One byte past the limit tells an over-long body of unknown length from one exactly at it.
        var capacity = Math.Min(Math.Min(request.ContentLength ?? 4096, FirstBufferLimit), maxBytes) + 1;
        if (!TakeShare(capacity))
        {
            return BodyReadOutcome.OverBudget;
        }

        var buffer = ArrayPool<byte>.Shared.Rent((int)capacity);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == capacity)
                {
                    var larger = Math.Min(capacity * 2, maxBytes + 1);
                    if (!TakeShare(larger - capacity))
                    {
                        return BodyReadOutcome.OverBudget;
                    }

                    var grown = ArrayPool<byte>.Shared.Rent((int)larger);
                    buffer.AsSpan(0, length).CopyTo(grown);
                    ArrayPool<byte>.Shared.Return(buffer);
                    (buffer, capacity) = (grown, larger);
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length, (int)capacity - length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    Bytes = buffer.AsSpan(0, length).ToArray();
                    return BodyReadOutcome.Read;
                }

                length += read;
                if (length > maxBytes)
                {
                    return BodyReadOutcome.TooLarge;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool TakeShare(long bytes)
    {
        if (!_budget.TryTake(bytes))
        {
            return false;
        }

        _share += bytes;
        return true;
    }
}
