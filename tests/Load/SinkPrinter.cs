using System.Text;
using Relay.Tests.Infrastructure;

namespace Relay.Load;

/// <summary>Formats a delivery for the console sink: a summary line, the headers and the body.</summary>
internal static class SinkPrinter
{
    public static string Format(Arrival arrival)
    {
        var request = arrival.Request;
        var text = new StringBuilder()
            .Append('[').Append(arrival.Target).Append("] ").Append(request.Method).Append(' ').Append(request.Path).Append(request.QueryString)
            .Append("  webhook-id=").Append(arrival.Header("webhook-id"))
            .Append("  event=").Append(arrival.Header("X-Relay-Event-Type"))
            .Append("  attempt=").Append(arrival.Header("X-Relay-Attempt"))
            .AppendLine();
        foreach (var (header, value) in request.Headers.OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase))
        {
            // Signatures are credentials of a kind: show that one came, never its value.
            var shown = header.Contains("signature", StringComparison.OrdinalIgnoreCase) ? "(present, not shown)" : value.ToString();
            text.Append("  ").Append(header).Append(": ").AppendLine(shown);
        }

        text.Append("  ").AppendLine(Encoding.UTF8.GetString(arrival.Body)).AppendLine();
        return text.ToString();
    }
}
