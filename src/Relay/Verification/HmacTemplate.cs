using System.Text;

namespace Relay.Verification;

/// <summary>
/// A parsed signed-content template such as <c>{id}.{timestamp}.{body}</c>: the text before <c>{body}</c> (head) and
/// after it (tail), each a list of literals and placeholders. Splitting around <c>{body}</c> lets the body be hashed in
/// place rather than copied into the content. Parse only templates <see cref="HmacSchemeValidator"/> accepts.
/// </summary>
internal sealed class HmacTemplate
{
    public const string BodyPlaceholder = "{body}";
    public const string TimestampPlaceholder = "{timestamp}";
    public const string IdPlaceholder = "{id}";

    private readonly Segment[] _head;
    private readonly Segment[] _tail;

    private HmacTemplate(Segment[] head, Segment[] tail)
    {
        _head = head;
        _tail = tail;
        UsesId = head.Concat(tail).Any(segment => segment.Kind == SegmentKind.Id);
    }

    /// <summary>True when the signed content needs the message id.</summary>
    public bool UsesId { get; }

    /// <summary>True when the signed content is the body alone, so there is nothing to render around it.</summary>
    public bool IsBodyOnly => _head.Length == 0 && _tail.Length == 0;

    public static HmacTemplate Parse(string template)
    {
        ArgumentNullException.ThrowIfNull(template);

        var head = new List<Segment>();
        var tail = new List<Segment>();
        List<Segment> current = head;
        var literal = new StringBuilder();

        void FlushLiteral()
        {
            if (literal.Length > 0)
            {
                current.Add(new Segment(SegmentKind.Literal, Encoding.UTF8.GetBytes(literal.ToString())));
                literal.Clear();
            }
        }

        int i = 0;
        while (i < template.Length)
        {
            ReadOnlySpan<char> rest = template.AsSpan(i);
            if (rest.StartsWith(BodyPlaceholder, StringComparison.Ordinal))
            {
                FlushLiteral();
                current = tail;
                i += BodyPlaceholder.Length;
            }
            else if (rest.StartsWith(TimestampPlaceholder, StringComparison.Ordinal))
            {
                FlushLiteral();
                current.Add(new Segment(SegmentKind.Timestamp, []));
                i += TimestampPlaceholder.Length;
            }
            else if (rest.StartsWith(IdPlaceholder, StringComparison.Ordinal))
            {
                FlushLiteral();
                current.Add(new Segment(SegmentKind.Id, []));
                i += IdPlaceholder.Length;
            }
            else
            {
                literal.Append(template[i]);
                i++;
            }
        }

        FlushLiteral();
        return new HmacTemplate([.. head], [.. tail]);
    }

    /// <summary>The UTF-8 lengths of the head and the tail once the id and timestamp are filled in.</summary>
    public (int Head, int Tail) Measure(ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp) =>
        (Measure(_head, id, timestamp), Measure(_tail, id, timestamp));

    /// <summary>Writes the head and then the tail, back to back, as UTF-8; <paramref name="destination"/> must hold both.</summary>
    public void Render(ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp, Span<byte> destination)
    {
        destination = Render(_head, id, timestamp, destination);
        Render(_tail, id, timestamp, destination);
    }

    /// <summary>
    /// Each distinct <c>{word}</c> in <paramref name="template"/> that is not a known placeholder, in order. Such a word is
    /// almost certainly a typo (e.g. <c>{Body}</c>, <c>{ts}</c>) that would make every signature fail, so validation
    /// reports it rather than letting it be signed as literal text.
    /// </summary>
    public static IReadOnlyList<string> FindUnknownPlaceholders(string template)
    {
        ArgumentNullException.ThrowIfNull(template);

        var unknown = new List<string>();
        int start = 0;
        while ((start = template.IndexOf('{', start)) >= 0)
        {
            int end = template.IndexOf('}', start + 1);
            if (end < 0)
            {
                break;
            }

            ReadOnlySpan<char> name = template.AsSpan(start + 1, end - start - 1);
            if (!name.IsEmpty && IsIdentifier(name))
            {
                string placeholder = template[start..(end + 1)];
                if (placeholder is not (BodyPlaceholder or TimestampPlaceholder or IdPlaceholder) && !unknown.Contains(placeholder))
                {
                    unknown.Add(placeholder);
                }
            }

            start++;
        }

        return unknown;
    }

    private static int Measure(Segment[] segments, ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp)
    {
        int length = 0;
        foreach (Segment segment in segments)
        {
            length += segment.Kind switch
            {
                SegmentKind.Id => Encoding.UTF8.GetByteCount(id),
                SegmentKind.Timestamp => Encoding.UTF8.GetByteCount(timestamp),
                _ => segment.Literal.Length,
            };
        }

        return length;
    }

    // Returns what is left of destination after the segments.
    private static Span<byte> Render(Segment[] segments, ReadOnlySpan<char> id, ReadOnlySpan<char> timestamp, Span<byte> destination)
    {
        foreach (Segment segment in segments)
        {
            int written;
            switch (segment.Kind)
            {
                case SegmentKind.Id:
                    written = Encoding.UTF8.GetBytes(id, destination);
                    break;
                case SegmentKind.Timestamp:
                    written = Encoding.UTF8.GetBytes(timestamp, destination);
                    break;
                default:
                    segment.Literal.CopyTo(destination);
                    written = segment.Literal.Length;
                    break;
            }

            destination = destination[written..];
        }

        return destination;
    }

    private static bool IsIdentifier(ReadOnlySpan<char> name)
    {
        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('_' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private enum SegmentKind
    {
        Literal,
        Timestamp,
        Id,
    }

    private readonly record struct Segment(SegmentKind Kind, byte[] Literal);
}
