using Microsoft.AspNetCore.Http.HttpResults;
using Relay.Store;

namespace Relay.Admin;

/// <summary>
/// Every admin error as RFC 9457 problem details (application/problem+json with type, title, status, detail),
/// so scripts can read the cause the same way whatever went wrong.
/// </summary>
internal static class AdminProblems
{
    /// <summary>Seconds a caller is asked to wait before retrying while the store is unreachable.</summary>
    public const string RetryAfterSeconds = "5";

    public static ProblemHttpResult NotFound(string title, string detail) => Problem(StatusCodes.Status404NotFound, title, detail);

    public static ProblemHttpResult BadRequest(string detail) => Problem(StatusCodes.Status400BadRequest, "Bad request", detail);

    public static ProblemHttpResult Conflict(string detail) => Problem(StatusCodes.Status409Conflict, "Conflict", detail);

    public static ProblemHttpResult Unauthorized(string detail) => Problem(StatusCodes.Status401Unauthorized, "Unauthorized", detail);

    public static ProblemHttpResult Forbidden(string detail) => Problem(StatusCodes.Status403Forbidden, "Forbidden", detail);

    public static ProblemHttpResult TooLarge(string detail) => Problem(StatusCodes.Status413PayloadTooLarge, "Request too large", detail);

    public static ProblemHttpResult UnsupportedMediaType(string detail) => Problem(StatusCodes.Status415UnsupportedMediaType, "Unsupported media type", detail);

    public static ProblemHttpResult StoreUnavailable() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "Store unavailable", "The event store cannot be reached; retry later.");

    public static ProblemHttpResult UnknownEvent(string id) => NotFound("Event not found", $"No event '{id}': the id is wrong or the event is older than store.retention.");

    public static ProblemHttpResult UnknownTarget(string id) => NotFound("Target not found", $"No target '{id}' in the current configuration.");

    private static ProblemHttpResult Problem(int status, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title);
}

/// <summary>Turns a store outage during an admin call into 503 problem details instead of a 500.</summary>
internal sealed partial class StoreUnavailableFilter(ILogger<StoreUnavailableFilter> logger) : IEndpointFilter
{
    public async ValueTask<object?> InvokeAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context).ConfigureAwait(false);
        }
        catch (Exception ex) when (StoreFailures.IsStoreFailure(ex))
        {
            Log.StoreUnavailable(logger, context.HttpContext.Request.Path, ex.Message);
            context.HttpContext.Response.Headers.RetryAfter = AdminProblems.RetryAfterSeconds;
            return AdminProblems.StoreUnavailable();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(4001, LogLevel.Warning, "Admin {Path}: store unavailable, answered 503 ({Message}).")]
        public static partial void StoreUnavailable(ILogger logger, string path, string message);
    }
}
