using System.Globalization;

namespace Relay.Configuration;

/// <summary>Parses the short durations used in relay.yaml: <c>250ms</c>, <c>5s</c>, <c>2m</c>, <c>1h</c>, <c>7d</c>.</summary>
internal static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        var s = text.Trim();
        var unitStart = s.Length;
        while (unitStart > 0 && char.IsLetter(s[unitStart - 1]))
        {
            unitStart--;
        }

        if (unitStart == 0 || unitStart == s.Length
            || !double.TryParse(s.AsSpan(0, unitStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
        {
            return false;
        }

        double? ms = s[unitStart..] switch
        {
            "ms" => amount,
            "s" => amount * 1000,
            "m" => amount * 60_000,
            "h" => amount * 3_600_000,
            "d" => amount * 86_400_000,
            _ => null,
        };
        if (ms is null || double.IsInfinity(ms.Value) || ms.Value > TimeSpan.MaxValue.TotalMilliseconds)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    public static string Format(TimeSpan value) => value switch
    {
        _ when value.TotalDays >= 1 && value.TotalDays == Math.Floor(value.TotalDays) => $"{value.TotalDays}d",
        _ when value.TotalHours >= 1 && value.TotalHours == Math.Floor(value.TotalHours) => $"{value.TotalHours}h",
        _ when value.TotalMinutes >= 1 && value.TotalMinutes == Math.Floor(value.TotalMinutes) => $"{value.TotalMinutes}m",
        _ when value.TotalSeconds >= 1 && value.TotalSeconds == Math.Floor(value.TotalSeconds) => $"{value.TotalSeconds}s",
        _ => $"{value.TotalMilliseconds}ms",
    };
}
