using static Relay.Verification.HmacTemplate;

namespace Relay.Verification;

/// <summary>
/// Checks an <see cref="HmacScheme"/> before anything is verified with it, collecting every problem (not just the first),
/// each under the relay.yaml key to change and with a message saying how.
/// </summary>
internal static class HmacSchemeValidator
{
    /// <summary>Every problem with <paramref name="scheme"/>; empty when it can be used.</summary>
    public static IReadOnlyList<HmacSchemeProblem> Validate(HmacScheme scheme)
    {
        ArgumentNullException.ThrowIfNull(scheme);

        var problems = new List<HmacSchemeProblem>();
        void Report(string key, string message) => problems.Add(new HmacSchemeProblem(key, message));

        if (string.IsNullOrWhiteSpace(scheme.Header))
        {
            Report("header", "header is required: set it to the name of the header carrying the signature");
        }

        if (!Enum.IsDefined(scheme.Algorithm))
        {
            Report("algorithm", $"algorithm '{scheme.Algorithm}' is not supported: use sha1, sha256 or sha512");
        }

        if (!Enum.IsDefined(scheme.Encoding))
        {
            Report("encoding", $"encoding '{scheme.Encoding}' is not supported: use hex or base64");
        }

        if (scheme.Prefix is null)
        {
            Report("prefix", "prefix must not be null: use \"\" when the signature has no prefix");
        }

        string? template = scheme.Template;
        int problemsBeforeTemplate = problems.Count;
        if (string.IsNullOrEmpty(template))
        {
            Report("template", "template is required: use \"{body}\" when the vendor signs the raw body");
            template = string.Empty;
        }
        else
        {
            int bodyAt = template.IndexOf(BodyPlaceholder, StringComparison.Ordinal);
            if (bodyAt < 0 || template.IndexOf(BodyPlaceholder, bodyAt + 1, StringComparison.Ordinal) >= 0)
            {
                Report("template", "template must contain {body} exactly once, so the signature covers the payload");
            }

            foreach (string unknown in FindUnknownPlaceholders(template))
            {
                Report("template", $"template placeholder {unknown} is not supported: use {BodyPlaceholder}, {TimestampPlaceholder} or {IdPlaceholder} (case-sensitive)");
            }
        }

        // A blank header name and a missing one are told apart, so each gets the one message that says how to fix it.
        if (scheme.TimestampHeader is not null && string.IsNullOrWhiteSpace(scheme.TimestampHeader))
        {
            Report("timestampHeader", "timestampHeader is blank: set it to a header name, or remove it");
        }
        else if (scheme.TimestampHeader is null && template.Contains(TimestampPlaceholder, StringComparison.Ordinal))
        {
            Report("timestampHeader", "template uses {timestamp} but no timestampHeader is set: add timestampHeader with the name of the header holding the Unix timestamp, or remove {timestamp} from the template");
        }
        else if (scheme.TimestampHeader is not null && !template.Contains(TimestampPlaceholder, StringComparison.Ordinal) && problems.Count == problemsBeforeTemplate)
        {
            // A timestamp the signature does not cover can be replaced by anyone replaying the request: checking it
            // would only look like replay protection. (A broken template has its own message; fixing it comes first.)
            Report("timestampHeader", "timestampHeader is set but template does not sign {timestamp}, so a replayed request could carry any timestamp: add {timestamp} to template (e.g. \"{timestamp}.{body}\") if the vendor signs it, or remove timestampHeader and tolerance");
        }

        if (scheme.IdHeader is not null && string.IsNullOrWhiteSpace(scheme.IdHeader))
        {
            Report("idHeader", "idHeader is blank: set it to a header name, or remove it");
        }
        else if (scheme.IdHeader is null && template.Contains(IdPlaceholder, StringComparison.Ordinal))
        {
            Report("idHeader", "template uses {id} but no idHeader is set: add idHeader with the name of the header holding the message id, or remove {id} from the template");
        }

        if (scheme.TimestampHeader is not null && scheme.Tolerance < TimeSpan.FromSeconds(1))
        {
            Report("tolerance", "tolerance must be at least 1 second when timestampHeader is set, e.g. 00:05:00");
        }

        return problems;
    }
}
