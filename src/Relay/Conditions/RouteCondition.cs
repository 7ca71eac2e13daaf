using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.RegularExpressions;
using Cel;

namespace Relay.Conditions;

/// <summary>What one evaluation of a condition came to.</summary>
internal enum ConditionVerdict
{
    True,
    False,

    /// <summary>It could not be evaluated (a missing field, a type error, a cap of <see cref="ConditionLimits"/>).</summary>
    Failed,
}

/// <param name="Detail">For <see cref="ConditionVerdict.Failed"/>, what failed, in a line.</param>
internal readonly record struct ConditionOutcome(ConditionVerdict Verdict, string? Detail = null)
{
    public static ConditionOutcome Failed(string detail) => new(ConditionVerdict.Failed, detail);
}

/// <summary>
/// A route's <c>when:</c>: a CEL expression over <see cref="ConditionVariables"/>, checked and compiled once at config
/// load (<see cref="TryCompile"/>) and evaluated once per event at accept (<see cref="Evaluate"/>). The package only
/// parses when it compiles, so the load also checks what it can of the parse tree (<see cref="ConditionCheck"/>): the
/// names and functions used, and that comprehensions range over the event's data, where their cost is counted.
/// </summary>
internal sealed class RouteCondition
{
    /// <summary>
    /// The container the package resolves names in. With one set, it asks the variables for <c>relay.x</c> before
    /// <c>x</c>, even for a comprehension's own variable, so every name the expression reads is a step of the meter.
    /// </summary>
    private const string Container = "relay";

    private static readonly CelEnvironment Environment = CreateEnvironment();

    /// <summary>Compiled patterns of <c>matches()</c>, most of them literals of the config; bounded, since a pattern may come from the event.</summary>
    private static readonly ConcurrentDictionary<string, Regex> Patterns = new(StringComparer.Ordinal);

    private const int MaxCachedPatterns = 256;

    // Counted apart: ConcurrentDictionary.Count takes every lock of the dictionary.
    private static int s_cachedPatterns;

    private readonly CelProgramDelegate _program;

    private RouteCondition(string text, CelProgramDelegate program) => (Text, _program) = (text, program);

    /// <summary>The expression as written in relay.yaml.</summary>
    public string Text { get; }

    /// <param name="error">Why <paramref name="text"/> is refused, as the rest of a config error after its key.</param>
    public static bool TryCompile(string text, [NotNullWhen(true)] out RouteCondition? condition, out string error)
    {
        condition = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "is empty. Write a condition, e.g. when: 'body.data.status == \"done\"', or remove the key.";
            return false;
        }

        if (text.Length > ConditionLimits.MaxLength)
        {
            error = $"is {text.Length:N0} characters long; the most is {ConditionLimits.MaxLength:N0}. Simplify it, or split it over several routes.";
            return false;
        }

        if (ConditionCheck.Problems(Environment, text) is [_, ..] problems)
        {
            error = string.Join(" ", problems);
            return false;
        }

        try
        {
            condition = new RouteCondition(text, Environment.Compile(text));
            error = "";
            return true;
        }
        catch (CelException ex)
        {
            error = $"is not a valid CEL expression: {ex.Message}";
            return false;
        }
    }

    /// <summary>Evaluates the condition for one event. Never throws: whatever goes wrong is a <see cref="ConditionVerdict.Failed"/>.</summary>
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "The package evaluates an operator's expression over a vendor's data: whatever it throws is a failed condition, never a failed ack.")]
    public ConditionOutcome Evaluate(ConditionVariables variables)
    {
        variables.Start();
        object? result;
        try
        {
            result = _program(variables.Lookup);
        }
        catch (Exception ex)
        {
            return ConditionOutcome.Failed(variables.Meter.Exceeded ?? Describe(ex.GetBaseException(), variables));
        }

        // The package may have swallowed the meter's exception (inside a comprehension), so a spent meter decides.
        return variables.Meter.Exceeded is { } exceeded ? ConditionOutcome.Failed(exceeded)
            : result is bool matched ? new ConditionOutcome(matched ? ConditionVerdict.True : ConditionVerdict.False)
            : ConditionOutcome.Failed(IsMissingField(result) ? variables.MissingField ?? "a field it selects is missing"
                : $"gave {(result is null ? "null" : CelTypeName(result))}, not true or false");
    }

    public override string ToString() => Text;

    /// <summary>
    /// The innermost message (the package wraps the cause of a failed <c>&amp;&amp;</c> or <c>||</c> in "Could not
    /// compare"), or, for a missing field, which one: the package's message names its own placeholder type instead
    /// when the missing field is handed to a function (<c>body.x.startsWith("a")</c>).
    /// </summary>
    private static string Describe(Exception cause, ConditionVariables variables)
    {
        var missing = cause is CelNoSuchFieldException or CelTypeDoesNotSupportFieldSelectionException
            || cause.Message.Contains("CelNoSuchField", StringComparison.Ordinal);
        var message = missing && variables.MissingField is { } field ? field : cause.Message;
        return message.Length <= 200 ? message : message[..197] + "...";
    }

    private static bool IsMissingField(object? result) => result?.GetType().Name == "CelNoSuchField";

    private static string CelTypeName(object value) => value switch
    {
        string => "a string",
        long or int => "an int",
        double => "a double",
        System.Collections.IDictionary => "a map",
        System.Collections.IList => "a list",
        _ => "a " + value.GetType().Name,
    };

    private static CelEnvironment CreateEnvironment()
    {
        var environment = new CelEnvironment(null, Container);

        // Registered functions come before the package's own. Its matches() builds a backtracking Regex on every call,
        // with no timeout: a pattern such as (a+)+$ against a long field would hold the ack path for minutes.
        environment.RegisterFunction("matches", [typeof(string), typeof(string)], static args => Pattern((string)args[1]!).IsMatch((string)args[0]!));
        return environment;
    }

    /// <summary>A pattern in linear time (RE2's promise, which CEL's matches() is specified with), cached while few.</summary>
    private static Regex Pattern(string pattern)
    {
        if (Patterns.TryGetValue(pattern, out var regex))
        {
            return regex;
        }

        if (pattern.Length > ConditionLimits.MaxPatternLength)
        {
            throw new ConditionDataException($"matches(): the pattern is longer than {ConditionLimits.MaxPatternLength:N0} characters");
        }

        regex = new Regex(pattern, RegexOptions.NonBacktracking | RegexOptions.CultureInvariant);
        if (Volatile.Read(ref s_cachedPatterns) < MaxCachedPatterns && Patterns.TryAdd(pattern, regex))
        {
            Interlocked.Increment(ref s_cachedPatterns);
        }

        return regex;
    }

    /// <summary>Whether <paramref name="pattern"/> is one <c>matches()</c> takes; the reason when not.</summary>
    internal static string? PatternProblem(string pattern)
    {
        try
        {
            Pattern(pattern);
            return null;
        }
        catch (Exception ex) when (ex is ArgumentException or NotSupportedException or ConditionDataException)
        {
            return ex.Message;
        }
    }
}
