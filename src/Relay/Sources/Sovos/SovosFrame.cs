using System.Text.Json;
using System.Text.Unicode;

namespace Relay.Sources.Sovos;

internal enum SovosFrameKind
{
    /// <summary>Nothing to deliver: a heartbeat, an empty frame, or a message without envelope and status.</summary>
    Ignored,

    /// <summary>A notification: one event.</summary>
    Event,

    /// <summary>An <c>{"error":{...}}</c> frame: the stream is failing and is reopened.</summary>
    Error,

    /// <summary>Not JSON; skipped and counted in the connector state.</summary>
    Invalid,
}

/// <summary>
/// One message of the Sovos stream, classified. The gRPC-gateway wrapper <c>{"result":{"message":{...}}}</c> is what
/// Sovos documents; a bare <c>{"message":{...}}</c> or a bare notification object is accepted too, since the framing
/// is not published.
/// </summary>
/// <param name="Detail">For errors: the error's code and message, as sent (callers redact URLs before logging).</param>
internal readonly record struct SovosFrame(SovosFrameKind Kind, string EnvelopeId = "", string Status = "", string Detail = "")
{
    public static SovosFrame Parse(ReadOnlySpan<byte> data)
    {
        if (data.Trim(" \t\r\n"u8).IsEmpty)
        {
            return new(SovosFrameKind.Ignored);
        }

        // The JSON reader does not check the bytes inside strings; reading such a string would throw.
        if (!Utf8.IsValid(data))
        {
            return new(SovosFrameKind.Invalid);
        }

        try
        {
            var reader = new Utf8JsonReader(data);
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return new(SovosFrameKind.Ignored);
            }

            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                return new(SovosFrameKind.Error, Detail: Describe(error));
            }

            var message = root.TryGetProperty("result", out var result) && result.ValueKind == JsonValueKind.Object ? result : root;
            if (message.TryGetProperty("message", out var inner) && inner.ValueKind == JsonValueKind.Object)
            {
                message = inner;
            }

            return Text(message, "envelopeId") is { Length: > 0 } envelopeId && Text(message, "status") is { Length: > 0 } status
                ? new(SovosFrameKind.Event, envelopeId, status)
                : new(SovosFrameKind.Ignored);
        }
        catch (JsonException)
        {
            return new(SovosFrameKind.Invalid);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(JsonElement error) => error.ValueKind switch
    {
        JsonValueKind.Object => $"code {(error.TryGetProperty("code", out var code) ? code.ToString() : "?")}: {Text(error, "message") ?? ""}",
        JsonValueKind.String => error.GetString() ?? "",
        _ => error.ToString(),
    };
}
