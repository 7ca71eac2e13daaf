namespace Relay.Verification;

/// <summary>One thing wrong with an <see cref="HmacScheme"/>, found by <see cref="HmacSchemeValidator"/>.</summary>
/// <param name="Key">The relay.yaml key the problem belongs to, e.g. <c>timestampHeader</c>, so config errors name what to change.</param>
/// <param name="Message">What is wrong and how to fix it.</param>
internal readonly record struct HmacSchemeProblem(string Key, string Message);
