namespace Relay.Configuration;

/// <summary>
/// Matches event types against route globs such as <c>signature_request.*</c>, <c>signature-api:*</c> or <c>*.done</c>.
/// <c>*</c> matches any run of characters (including none, dots and colons); matching is case-sensitive, like the vendors' names.
/// </summary>
internal static class EventTypeGlob
{
    public static bool IsMatch(string glob, string value) => IsMatch(glob.AsSpan(), value.AsSpan());

    private static bool IsMatch(ReadOnlySpan<char> glob, ReadOnlySpan<char> value)
    {
        // Iterative wildcard match with one backtrack point: linear in practice, no regex, no allocation.
        int g = 0, v = 0, starG = -1, starV = 0;
        while (v < value.Length)
        {
            if (g < glob.Length && glob[g] == '*')
            {
                starG = g++;
                starV = v;
            }
            else if (g < glob.Length && glob[g] == value[v])
            {
                g++;
                v++;
            }
            else if (starG >= 0)
            {
                g = starG + 1;
                v = ++starV;
            }
            else
            {
                return false;
            }
        }

        while (g < glob.Length && glob[g] == '*')
        {
            g++;
        }

        return g == glob.Length;
    }
}
