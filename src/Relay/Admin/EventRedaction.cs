using System.Text;
using System.Text.Json;
using Relay.Ingress;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Admin;

/// <summary>
/// Turns stored events into admin views with nothing secret in them: sensitive headers masked, URL query strings
/// in bodies and errors masked (presigned document links), sensitive form fields masked, the request's own query string masked.
/// The rules themselves are <see cref="Redaction"/>'s, shared with logging.
/// </summary>
internal static class EventRedaction
{
    /// <summary>What a target's state shows while the target is paused and the event waits for it.</summary>
    private const string PausedState = "paused";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static EventView ToView(EventDetail e, IReadOnlySet<string> paused)
    {
        var (body, encoding) = BodyText(e.Body, e.ContentType);
        return new EventView(
            e.Id,
            e.Source,
            e.Type,
            e.Tags,
            e.ReceivedAt,
            e.Method,
            e.QueryString.Length == 0 ? "" : "?" + Redaction.Mask,
            e.ContentType,
            [.. e.Headers.Select(h => new HeaderView(h.Key, Redaction.IsSensitiveHeader(h.Key) ? Redaction.Mask : h.Value))],
            body,
            encoding,
            e.Targets.ToDictionary(t => t.Target, t => TargetState(t, paused), StringComparer.Ordinal),
            [.. e.History.Select(a => new AttemptView(a.Target, a.Attempt, DateTimeOffset.FromUnixTimeMilliseconds(a.At), a.Status, a.DurationMs, Redact(a.Error)))],
            [.. RouteMatch.ParseDecisions(e.Routes).Select(r => new RouteDecisionView(r.Target, r.Matched, JsonNamingPolicy.CamelCase.ConvertName(r.Verdict.ToString()), Redact(r.Detail)))]);
    }

    public static EventSummaryView ToSummary(EventSummary e, IReadOnlySet<string> paused) =>
        new(e.Id, e.Source, e.Type, e.ReceivedAt, e.Targets.ToDictionary(t => t.Target, t => StateName(t, paused), StringComparer.Ordinal));

    public static DeadLetterView ToView(DeadLetter d) => new(d.Id, d.DeadAt, d.Source, d.Type, d.ReceivedAt, d.Attempts, Redact(d.Reason));

    private static TargetStateView TargetState(TargetDelivery t, IReadOnlySet<string> paused) => new(
        StateName(t, paused),
        t.Attempts,
        t.NextAttemptAt,
        t.State == DeliveryState.Delivered ? t.At : null,
        t.State is DeliveryState.Dead or DeliveryState.Quarantined or DeliveryState.Purged ? t.At : null,
        Redact(t.Reason));

    /// <summary>An event waiting for a paused target shows as paused: that is why it is not moving.</summary>
    private static string StateName(TargetDelivery t, IReadOnlySet<string> paused) =>
        t.State is DeliveryState.Pending or DeliveryState.Retrying && paused.Contains(t.Target) ? PausedState : t.State.Name();


    private static (string Body, string Encoding) BodyText(byte[] body, string? contentType)
    {
        try
        {
            var text = Redaction.RedactUrlQueries(StrictUtf8.GetString(body));
            var isForm = contentType?.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase) ?? false;
            return (isForm ? Redaction.RedactFormFields(text) : text, "utf-8");
        }
        catch (DecoderFallbackException)
        {
            return (Convert.ToBase64String(body), "base64");
        }
    }

    private static string? Redact(string? text) => text is null ? null : Redaction.RedactUrlQueries(text);
}
