using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Relay.Admin;

/// <summary>
/// Reads the optional JSON body of an admin call, never more than <see cref="MaxBytes"/> whatever the framing
/// (a chunked body without Content-Length included), and turns bad input into a 400 saying what to send.
/// </summary>
internal static class AdminBody
{
    /// <summary>Largest body read: a list of target or event ids fits many times over.</summary>
    public const int MaxBytes = 64 * 1024;

    /// <returns>The value (null for an empty body), or the problem to answer.</returns>
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> type, string example)
        where T : class
    {
        if (request.ContentLength > MaxBytes)
        {
            return (null, TooLarge());
        }

        var buffer = new byte[MaxBytes + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await request.Body.ReadAsync(buffer.AsMemory(length), request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
        {
            length += read;
        }

        if (length > MaxBytes)
        {
            return (null, TooLarge());
        }

        if (buffer.AsSpan(0, length).Trim(" \t\r\n"u8).IsEmpty)
        {
            return (null, null);
        }

        try
        {
            return (JsonSerializer.Deserialize(buffer.AsSpan(0, length), type), null);
        }
        catch (JsonException ex)
        {
            return (null, AdminProblems.BadRequest($"The body must be JSON like {example} or empty: {ex.Message}"));
        }
    }

    private static Microsoft.AspNetCore.Http.HttpResults.ProblemHttpResult TooLarge() => AdminProblems.BadRequest($"The request body is larger than {MaxBytes} bytes.");
}
