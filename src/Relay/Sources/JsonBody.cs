using System.Text.Json;
using System.Text.Unicode;
using Relay.Verification;

namespace Relay.Sources;

/// <summary>Small helpers to read the few fields a kind needs from a JSON body without binding it to a model.</summary>
internal static class JsonBody
{
    /// <summary>Parses a JSON object; false for anything else (array, scalar, invalid bytes).</summary>
    public static bool TryParseObject(ReadOnlySpan<byte> body, out JsonDocument document) => Parse(body, out document) is null;

    /// <summary>
    /// Parses a JSON object, the one entry every JSON kind goes through; a 400 verdict saying why for anything else.
    /// The whole body must be UTF-8 (RFC 8259): the JSON reader checks the structure but not the bytes inside strings,
    /// so a string with invalid bytes would parse, then throw when read (a 500, not a 400).
    /// </summary>
    /// <returns>Null with the parsed document, which the caller disposes; otherwise the verdict rejecting the body.</returns>
    public static SourceVerdict? Parse(ReadOnlySpan<byte> body, out JsonDocument document)
    {
        document = null!;
        if (!Utf8.IsValid(body))
        {
            return SourceVerdict.BadRequest("body is not valid UTF-8");
        }

        return TryParse(body, out document) ? null : SourceVerdict.BadRequest("body is not a JSON object");
    }

    private static bool TryParse(ReadOnlySpan<byte> body, out JsonDocument document)
    {
        document = null!;
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            if (!JsonDocument.TryParseValue(ref reader, out var parsed) || parsed is null)
            {
                return false;
            }

            if (parsed.RootElement.ValueKind != JsonValueKind.Object)
            {
                parsed.Dispose();
                return false;
            }

            document = parsed;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The usual checks of a signed JSON webhook, in order: a genuine signature when <paramref name="verifier"/> is given
    /// (else 401), a JSON content type (else 415), a UTF-8 JSON object body (else 400).
    /// </summary>
    /// <returns>Null with the parsed document, which the caller disposes; otherwise the verdict rejecting the request.</returns>
    public static SourceVerdict? TryOpen(IngressRequest request, HmacVerifier? verifier, out JsonDocument document)
    {
        document = null!;
        if (verifier?.Verify(request.Headers, request.Body, request.ReceivedAt) is { IsValid: false } verified)
        {
            return SourceVerdict.Unauthorized(verified.Failure!);
        }

        if (!IsJson(request.ContentType))
        {
            return SourceVerdict.UnsupportedMediaType("expected Content-Type application/json");
        }

        return Parse(request.Body, out document);
    }

    /// <summary>
    /// Opens the body with <see cref="TryOpen"/> and, when it passes, reads the event(s) from its root with
    /// <paramref name="read"/>; the document is disposed afterwards.
    /// </summary>
    public static SourceVerdict Read(IngressRequest request, HmacVerifier? verifier, Func<JsonElement, SourceVerdict> read)
    {
        if (TryOpen(request, verifier, out var document) is { } rejected)
        {
            return rejected;
        }

        using (document)
        {
            return read(document.RootElement);
        }
    }

    /// <summary>Reads a string (or number, as text) at a dotted path such as <c>data.signature_request.id</c>.</summary>
    public static string? GetString(JsonElement root, string dottedPath)
    {
        var current = root;
        foreach (var part in dottedPath.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
            {
                return null;
            }
        }

        return current.ValueKind switch
        {
            JsonValueKind.String => current.GetString(),
            JsonValueKind.Number => current.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        };
    }

    /// <summary>Reads an array of strings at a top-level property; empty when absent.</summary>
    public static IReadOnlyList<string> GetStrings(JsonElement root, string property) =>
        root.TryGetProperty(property, out var array) && array.ValueKind == JsonValueKind.Array
            ? array.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToArray()
            : [];

    public static bool IsJson(string? contentType) =>
        contentType is not null
        && (contentType.StartsWith("application/json", StringComparison.OrdinalIgnoreCase)
            || (contentType.StartsWith("application/", StringComparison.OrdinalIgnoreCase)
                && contentType.Split(';')[0].EndsWith("+json", StringComparison.OrdinalIgnoreCase)));
}
