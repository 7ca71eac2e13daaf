namespace Relay.Verification;

internal enum HmacAlgorithm
{
    Sha1,
    Sha256,
    Sha512,
}

internal enum SignatureEncoding
{
    Hex,
    Base64,
}

/// <summary>
/// A generic HMAC header scheme, also used as a preset by vendor kinds
/// (Yousign = X-Yousign-Signature-256, Sha256, Hex, prefix "sha256=", template "{body}").
/// </summary>
/// <param name="Header">Header carrying the signature.</param>
/// <param name="Prefix">Stripped (case-insensitively) before decoding, e.g. "sha256="; empty for none.</param>
/// <param name="Template">Signed content, e.g. "{body}", "{timestamp}.{body}", "{id}.{timestamp}.{body}"; other text is literal.</param>
/// <param name="TimestampHeader">Header holding Unix seconds; required when Template contains {timestamp}.</param>
/// <param name="Tolerance">Maximum |now - timestamp| when TimestampHeader is set.</param>
/// <param name="IdHeader">Header holding the message id; required when Template contains {id}.</param>
internal sealed record HmacScheme(
    string Header,
    HmacAlgorithm Algorithm,
    SignatureEncoding Encoding,
    string Prefix,
    string Template,
    string? TimestampHeader,
    TimeSpan Tolerance,
    string? IdHeader);
