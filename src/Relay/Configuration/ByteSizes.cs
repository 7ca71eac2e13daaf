using System.Globalization;

namespace Relay.Configuration;

/// <summary>Parses the sizes used in relay.yaml: <c>512m</c>, <c>1g</c>, <c>1.5g</c> (binary units: k, m, g).</summary>
internal static class ByteSizes
{
    public const long Megabyte = 1024 * 1024;

    public static bool TryParse(string? text, out long bytes)
    {
        bytes = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim().ToLowerInvariant();
        long? unit = s[^1] switch
        {
            'k' => 1024,
            'm' => Megabyte,
            'g' => 1024 * Megabyte,
            _ => null,
        };
        if (unit is null
            || !double.TryParse(s.AsSpan(0, s.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount)
            || amount * unit.Value >= long.MaxValue)
        {
            return false;
        }

        bytes = (long)(amount * unit.Value);
        return true;
    }

    public static string Format(long bytes) => bytes % (1024 * Megabyte) == 0
        ? string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024 * Megabyte)}g")
        : string.Create(CultureInfo.InvariantCulture, $"{bytes / Megabyte}m");
}
