using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;

namespace Relay.Sources;

/// <summary>Reads <c>application/x-www-form-urlencoded</c> fields from a body or a query string, without model binding.</summary>
internal static class FormBody
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static bool IsForm(string? contentType) =>
        contentType is not null && contentType.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a form body; false when it is not UTF-8 text.</summary>
    public static bool TryParse(byte[] body, out Dictionary<string, StringValues> fields)
    {
        try
        {
            fields = Parse(StrictUtf8.GetString(body));
            return true;
        }
        catch (DecoderFallbackException)
        {
            fields = [];
            return false;
        }
    }

    /// <summary>
    /// Parses <c>a=1&amp;b=2</c>, with or without a leading <c>?</c>; percent-escapes and <c>+</c> are decoded, and field
    /// names compare case-insensitively (as ASP.NET Core's own form and query readers do).
    /// </summary>
    public static Dictionary<string, StringValues> Parse(string text) =>
        QueryHelpers.ParseNullableQuery(text) ?? new Dictionary<string, StringValues>(StringComparer.OrdinalIgnoreCase);

    /// <summary>The single value of a field; null when absent, empty or repeated.</summary>
    public static string? Single(Dictionary<string, StringValues> fields, string name) =>
        fields.TryGetValue(name, out var values) && values.Count == 1 && !string.IsNullOrEmpty(values[0]) ? values[0] : null;
}
