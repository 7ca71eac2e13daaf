using System.Diagnostics;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;
using Relay.Configuration;
using Relay.Sources;
using Relay.Store;
using Relay.Telemetry;

namespace Relay.Ingress;

/// <summary>
/// Terminates vendor callbacks on source paths: read (bounded: <see cref="IngressBodyBudget"/>) → admit (<see cref="IngressAdmission"/>) → verify and split (source kind) → route →
/// accept (<see cref="EventAcceptor"/>: one atomic script per event, then wait until durable) → ack exactly as the vendor expects.
/// Any other path goes on to the pass-through proxy.
/// </summary>
internal sealed partial class IngressMiddleware(
    RequestDelegate next,
    IngressRouter router,
    RelayConfigProvider configProvider,
    IngressAdmission admission,
    IngressBodyBudget bodyBudget,
    EventAcceptor acceptor,
    RelayMetrics metrics,
    MinuteCounters counters,
    TimeProvider time,
    ILogger<IngressMiddleware> logger)
{
    /// <summary>Seconds a vendor is asked to wait before retrying while the store is unreachable or ingress is full.</summary>
    private const string RetryAfterSeconds = "5";

    // Hop-by-hop and framing headers describe this connection, not the event; credentials meant for us stay here.
    private static readonly HashSet<string> NotReplayed = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "TE", "Trailer",
        "Proxy-Connection", "Proxy-Authorization", "Expect", "Authorization", "Cookie",
    };

    public Task InvokeAsync(HttpContext context)
    {
        var values = new RouteValueDictionary();
        var binding = router.Match(context.Request.Path, values);
        return binding is null ? next(context) : HandleAsync(context, binding, values);
    }

    private async Task HandleAsync(HttpContext context, SourceBinding binding, RouteValueDictionary values)
    {
        // The ack budget counts from here, so a slow body read spends it too.
        var started = time.GetTimestamp();
        using var span = new IngestSpan(metrics, counters, binding.Config.Id, ActivityKind.Server);
        span.End(await ProcessAsync(context, binding, values, started).ConfigureAwait(false));
    }

    private async Task<IngestOutcome> ProcessAsync(HttpContext context, SourceBinding binding, RouteValueDictionary values, long started)
    {
        var request = context.Request;
        var source = binding.Config;
        if (!binding.Handler.Methods.Contains(request.Method, StringComparer.OrdinalIgnoreCase))
        {
            context.Response.Headers.Allow = string.Join(", ", binding.Handler.Methods);
            await RejectAsync(context, StatusCodes.Status405MethodNotAllowed, $"use {string.Join(" or ", binding.Handler.Methods)}").ConfigureAwait(false);
            return IngestOutcome.MethodNotAllowed;
        }

        // The body is read before asking for a turn, so a sender that trickles it holds memory it has sent, never a turn.
        var maxBytes = configProvider.Current.Config.Ingress.MaxBodyBytes;
        RequestBody body;
        try
        {
            body = await RequestBody.ReadAsync(request, maxBytes, bodyBudget, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The vendor went away or sent too slowly (Kestrel's minimum data rate); there is nobody to answer.
            Log.BodyReadFailed(logger, source.Id, ex.GetType().Name);
            context.Abort();
            return IngestOutcome.Aborted;
        }

        using (body)
        {
            switch (body.Outcome)
            {
                case BodyReadOutcome.TooLarge:
                    await RejectAsync(context, StatusCodes.Status413PayloadTooLarge, $"body is larger than {maxBytes} bytes").ConfigureAwait(false);
                    return IngestOutcome.TooLarge;
                case BodyReadOutcome.OverBudget:
                    return await OverloadedAsync(context, source, IngestOutcome.Overloaded, "too much webhook data in progress; retry later").ConfigureAwait(false);
            }

            IngressTurn turn;
            try
            {
                turn = await admission.EnterAsync(started, context.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // Gone while waiting for a turn.
                context.Abort();
                return IngestOutcome.Aborted;
            }

            switch (turn.Outcome)
            {
                case AdmissionOutcome.Full:
                    return await OverloadedAsync(context, source, IngestOutcome.Overloaded, "too many webhook requests in progress; retry later").ConfigureAwait(false);
                case AdmissionOutcome.Late:
                    return await OverloadedAsync(context, source, IngestOutcome.Late, "webhook requests wait too long to be acked in time; retry later").ConfigureAwait(false);
            }

            using (turn)
            {
                return await ProcessAdmittedAsync(context, binding, values, body.Bytes, turn).ConfigureAwait(false);
            }
        }
    }

    /// <summary>503 with Retry-After, before the store is touched, so the vendor's retry is a first delivery.</summary>
    private async Task<IngestOutcome> OverloadedAsync(HttpContext context, SourceConfig source, IngestOutcome outcome, string reason)
    {
        if (outcome == IngestOutcome.Late)
        {
            Log.Late(logger, source.Id);
        }
        else
        {
            Log.Overloaded(logger, source.Id);
        }

        context.Response.Headers.RetryAfter = RetryAfterSeconds;
        await RejectAsync(context, StatusCodes.Status503ServiceUnavailable, reason).ConfigureAwait(false);
        return outcome;
    }

    private async Task<IngestOutcome> ProcessAdmittedAsync(HttpContext context, SourceBinding binding, RouteValueDictionary values, byte[] body, IngressTurn turn)
    {
        var request = context.Request;
        var source = binding.Config;
        var now = time.GetUtcNow();
        var verdict = binding.Handler.Read(new IngressRequest(
            request.Method, request.ContentType, request.QueryString.Value ?? "", request.Headers, body, values, context.Connection.RemoteIpAddress, now));
        switch (verdict.Outcome)
        {
            case SourceOutcome.Unauthorized:
                Log.Rejected(logger, source.Id, 401, verdict.Reason!);
                await RejectAsync(context, StatusCodes.Status401Unauthorized, verdict.Reason!).ConfigureAwait(false);
                return IngestOutcome.Unauthorized;
            case SourceOutcome.BadRequest:
                Log.Rejected(logger, source.Id, 400, verdict.Reason!);
                await RejectAsync(context, StatusCodes.Status400BadRequest, verdict.Reason!).ConfigureAwait(false);
                return IngestOutcome.BadRequest;
            case SourceOutcome.UnsupportedMediaType:
                Log.Rejected(logger, source.Id, 415, verdict.Reason!);
                await RejectAsync(context, StatusCodes.Status415UnsupportedMediaType, verdict.Reason!).ConfigureAwait(false);
                return IngestOutcome.UnsupportedMediaType;
        }

        var origin = new EventOrigin(request.Method, request.QueryString.Value ?? "", request.ContentType, CopyHeaders(request.Headers), body);
        AcceptSummary summary;
        try
        {
            summary = await acceptor.AcceptAsync(source, verdict.Events, origin, now).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            Log.StoreUnavailable(logger, source.Id, ex.GetType().Name, ex.Message);
            context.Response.Headers.RetryAfter = RetryAfterSeconds;
            await RejectAsync(context, StatusCodes.Status503ServiceUnavailable, "event store unavailable; retry later").ConfigureAwait(false);
            return IngestOutcome.Unavailable;
        }

        await AckAsync(context, source.Ack).ConfigureAwait(false);
        admission.Acked(turn);
        return summary.Outcome;
    }

    private static List<KeyValuePair<string, string>> CopyHeaders(IHeaderDictionary headers)
    {
        var kept = new List<KeyValuePair<string, string>>(headers.Count);
        foreach (var (name, value) in headers)
        {
            if (!NotReplayed.Contains(name) && !name.StartsWith(':'))
            {
                foreach (var single in value)
                {
                    kept.Add(new(name, single ?? ""));
                }
            }
        }

        return kept;
    }

    private static Task AckAsync(HttpContext context, AckConfig ack)
    {
        context.Response.StatusCode = ack.Status;
        if (ack.ContentType is not null)
        {
            context.Response.ContentType = ack.ContentType;
        }

        if (ack.Body.Length == 0)
        {
            context.Response.ContentLength = 0;
            return Task.CompletedTask;
        }

        return context.Response.WriteAsync(ack.Body);
    }

    private static Task RejectAsync(HttpContext context, int status, string reason)
    {
        context.Response.StatusCode = status;
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(reason + "\n");
    }

    private static partial class Log
    {
        [LoggerMessage(2001, LogLevel.Debug, "Source {Source}: request rejected with {Status}: {Reason}.")]
        public static partial void Rejected(ILogger logger, string source, int status, string reason);

        [LoggerMessage(2002, LogLevel.Debug, "Source {Source}: body not read ({Error}).")]
        public static partial void BodyReadFailed(ILogger logger, string source, string error);

        [LoggerMessage(2003, LogLevel.Warning, "Source {Source}: store unavailable, answered 503 ({Error}: {Message}).")]
        public static partial void StoreUnavailable(ILogger logger, string source, string error, string message);

        [LoggerMessage(2004, LogLevel.Debug, "Source {Source}: ingress full (ingress.maxConcurrentRequests and queueLimit, or maxBufferedBytes), answered 503.")]
        public static partial void Overloaded(ILogger logger, string source);

        [LoggerMessage(2005, LogLevel.Debug, "Source {Source}: no turn came while the request could still be acked within ingress.ackBudget, answered 503.")]
        public static partial void Late(ILogger logger, string source);
    }
}
