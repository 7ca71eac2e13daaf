namespace Relay.Verification;

// Failure is returned to callers and logged, so it must only ever hold a fixed reason and configured header names,
// never the secret or any signature (expected or received).
internal readonly record struct VerificationResult(bool IsValid, string? Failure)
{
    public static VerificationResult Valid { get; } = new(true, null);

    public static VerificationResult Invalid(string failure) => new(false, failure);
}
