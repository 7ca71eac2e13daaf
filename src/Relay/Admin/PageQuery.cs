using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Relay.Store;

namespace Relay.Admin;

/// <summary>
/// <c>limit</c> and <c>cursor</c> of a paged listing. The cursor is opaque to callers: the position of the last
/// entry of the previous page (time and id), so pages stay stable while new events arrive.
/// </summary>
internal readonly record struct PageQuery(int Limit, IndexPosition? After)
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;

    /// <summary>Reads the query; on bad input returns false with the problem to answer.</summary>
    public static bool TryRead(HttpRequest request, out PageQuery query, out IResult? problem)
    {
        query = default;
        problem = null;
        var limit = DefaultLimit;
        var limitText = request.Query["limit"].ToString();
        if (limitText.Length > 0 && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > MaxLimit))
        {
            problem = AdminProblems.BadRequest($"limit must be a whole number from 1 to {MaxLimit}; got '{limitText}'.");
            return false;
        }

        IndexPosition? after = null;
        var cursorText = request.Query["cursor"].ToString();
        if (cursorText.Length > 0)
        {
            if (Decode(cursorText) is not { } position)
            {
                problem = AdminProblems.BadRequest("cursor is not valid: pass back the 'next' value of the previous page unchanged.");
                return false;
            }

            after = position;
        }

        query = new PageQuery(limit, after);
        return true;
    }

    public static string? Encode(IndexPosition? position) => position is { } p
        ? Base64Url.EncodeToString(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{p.At}:{p.Id}")))
        : null;

    private static IndexPosition? Decode(string cursor)
    {
        if (cursor.Length > 256 || !Base64Url.IsValid(cursor))
        {
            return null;
        }

        var text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && colon < text.Length - 1 && long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var at)
            ? new IndexPosition(at, text[(colon + 1)..])
            : null;
    }
}
