using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace Relay.Sources.AlphaTrust;

/// <summary>The fields of an AlphaTrust callback: the query string of a GET, the form body of a POST.</summary>
internal static class AlphaTrustFields
{
    /// <returns>False, with the reason, when the fields cannot be read (see <see cref="FormBody.TryParse(byte[], out Dictionary{string, StringValues}, out string)"/>).</returns>
    public static bool TryRead(string method, string queryString, byte[] body, out Dictionary<string, StringValues> fields, out string problem) =>
        HttpMethods.IsGet(method) ? FormBody.TryParse(queryString, out fields, out problem) : FormBody.TryParse(body, out fields, out problem);

    /// <summary>
    /// SHA-256 of every field and value, sorted by name, so the same callback sent as GET or POST, in any field order,
    /// has the same key. Each part is length-prefixed so that no two different field sets render alike.
    /// </summary>
    public static string DedupeKey(Dictionary<string, StringValues> fields, IReadOnlySet<string> excluded)
    {
        var canonical = new StringBuilder();
        foreach (var (name, values) in fields.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            if (excluded.Contains(name))
            {
                continue;
            }

            foreach (var value in values)
            {
                canonical.Append(CultureInfo.InvariantCulture, $"{name.Length}:{name}={value?.Length ?? 0}:{value};");
            }
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())));
    }
}
