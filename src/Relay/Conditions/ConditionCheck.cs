using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Collections.Immutable;
using Antlr4.Runtime;
using Antlr4.Runtime.Tree;
using Cel;
using Cel.Internal;

namespace Relay.Conditions;

/// <summary>
/// What can be known of an expression before any event: the CEL package checks only its syntax when compiling, and
/// looks names and functions up while evaluating, so a misspelt <c>bdy</c> or <c>startswith</c> would fail every event
/// in silence. This reads the package's own lexer and parse tree (nothing is parsed twice by other means) and reports:
/// characters the lexer cannot read (the package drops them without a word), names that are neither a variable nor a
/// comprehension's, functions the package does not have, optional selection (which it parses and ignores), and
/// comprehensions over a literal rather than the event's data. The last matters for cost: items of the event's lists
/// are counted by the meter, a literal's are not.
/// </summary>
internal static class ConditionCheck
{
    private const int MaxProblems = 3;

    private static readonly FrozenSet<string> Macros = MacroNames();

    private static readonly FrozenSet<string> Functions = FunctionNames();

    /// <summary>Type names the package resolves as values, for <c>type(x) == string</c>; <c>type</c> itself is a variable here.</summary>
    private static readonly FrozenSet<string> TypeNames = FrozenSet.Create(StringComparer.Ordinal, "bool", "bytes", "double", "dyn", "int", "list", "map", "null_type", "string", "uint");

    private static readonly string VariableList = string.Join(", ", ConditionVariables.Names);

    /// <summary>Every problem found (at most a few), each a sentence saying how to fix it; empty when there is none.</summary>
    public static IReadOnlyList<string> Problems(CelEnvironment environment, string text)
    {
        if (LexerProblem(text) is { } unreadable)
        {
            return [$"is not a valid CEL expression: {unreadable}."];
        }

        CelParser.StartContext tree;
        try
        {
            tree = environment.Parse(text);
        }
        catch (CelExpressionParserException ex)
        {
            return [$"is not a valid CEL expression: {ex.Message.ReplaceLineEndings("; ")}."];
        }

        var problems = new List<string>();
        Walk(tree, [], problems);
        return [.. problems.Distinct().Take(MaxProblems)];
    }

    private static string? LexerProblem(string text)
    {
        var lexer = new CelLexer(new AntlrInputStream(text));
        var errors = new LexerErrors();
        lexer.RemoveErrorListeners();
        lexer.AddErrorListener(errors);
        lexer.GetAllTokens();
        return errors.First;
    }

    private static void Walk(IParseTree node, ImmutableHashSet<string> bound, List<string> problems)
    {
        switch (node)
        {
            case CelParser.IdentOrGlobalCallContext { op: null } name:
                CheckName(name.id.Text, bound, problems);
                return;
            case CelParser.IdentOrGlobalCallContext call:
                CheckFunction(call.id.Text, call.args?._e.Count ?? 0, problems);
                break;
            case CelParser.MemberCallContext call when Macros.Contains(call.id.Text) && call.args?._e.Count == 2:
                WalkComprehension(call, bound, problems);
                return;
            case CelParser.SelectContext { opt: not null } or CelParser.IndexContext { opt: not null }:
                // The grammar has optional selection, but the package ignores the ?: x.?y is x.y.
                problems.Add("selects with .? or [?, which this CEL package does not support. Test for the field with has(), e.g. has(body.x) && body.x == \"a\".");
                break;
            case CelParser.MemberCallContext call:
                CheckFunction(call.id.Text, call.args?._e.Count ?? 0, problems);
                if (call.id.Text == "matches" && call.args?._e.Count == 1 && LiteralString(call.args._e[0]) is { } pattern && RouteCondition.PatternProblem(pattern) is { } bad)
                {
                    problems.Add($"has a matches() pattern that cannot be used: {bad}");
                }

                break;
        }

        for (var i = 0; i < node.ChildCount; i++)
        {
            Walk(node.GetChild(i), bound, problems);
        }
    }

    /// <summary><c>range.exists(x, predicate)</c>: the range must be the event's data; <c>x</c> is known inside the predicate only.</summary>
    private static void WalkComprehension(CelParser.MemberCallContext call, ImmutableHashSet<string> bound, List<string> problems)
    {
        var macro = call.id.Text;
        Walk(call.member(), bound, problems);
        if (!RangesOverNames(call.member()))
        {
            problems.Add($"ranges {macro}() over a literal, or over something computed from one. A comprehension must range over the event's data (tags, headers, body or a field of it, or another comprehension's variable), so that its cost is counted; test a value against a literal list with in, e.g. x in [\"a\", \"b\"].");
        }

        var variable = call.args._e[0].GetText();
        if (!IsIdentifier(variable))
        {
            problems.Add($"names the variable of {macro}() '{variable}'; write a plain name, e.g. items.{macro}(i, i.status == \"done\").");
        }
        else if (ConditionVariables.Names.Contains(variable))
        {
            problems.Add($"names the variable of {macro}() '{variable}', which hides the variable {variable}; pick another name, e.g. {macro}(x, ...).");
        }

        Walk(call.args._e[1], bound.Add(variable), problems);
    }

    /// <summary>Whether <paramref name="member"/> is a name followed by selections, indexes and calls: <c>body.items</c>, <c>i.signers.filter(...)</c>.</summary>
    private static bool RangesOverNames(CelParser.MemberContext member)
    {
        while (true)
        {
            switch (member)
            {
                case CelParser.SelectContext select:
                    member = select.member();
                    break;
                case CelParser.IndexContext index:
                    member = index.member();
                    break;
                case CelParser.MemberCallContext call:
                    member = call.member();
                    break;
                case CelParser.PrimaryExprContext primary:
                    return primary.primary() is CelParser.IdentOrGlobalCallContext { op: null };
                default:
                    return false;
            }
        }
    }

    private static void CheckName(string name, ImmutableHashSet<string> bound, List<string> problems)
    {
        if (!ConditionVariables.Names.Contains(name) && !bound.Contains(name) && !TypeNames.Contains(name))
        {
            var closest = ConditionVariables.Names.FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
            problems.Add(closest is null
                ? $"names '{name}', which is not a variable. Use {VariableList}; text needs quotes ('{name}')."
                : $"names '{name}', which is not a variable; did you mean {closest}?");
        }
    }

    private static void CheckFunction(string name, int arguments, List<string> problems)
    {
        if (Macros.Contains(name))
        {
            problems.Add($"calls {name}() with {arguments} argument(s); write it as list.{name}(x, condition on x).");
        }
        else if (!Functions.Contains(name))
        {
            var closest = Functions.Concat(Macros).FirstOrDefault(f => string.Equals(f, name, StringComparison.OrdinalIgnoreCase));
            problems.Add(closest is null
                ? $"calls {name}(), which is not a CEL function. See docs/routing-conditions.md for the functions there are."
                : $"calls {name}(), which is not a CEL function; did you mean {closest}()?");
        }
    }

    /// <summary>The value of <paramref name="expression"/> when it is a lone string literal; else null.</summary>
    private static string? LiteralString(CelParser.ExprContext expression)
    {
        var text = expression.GetText();
        var literal = Descendants(expression).OfType<CelParser.StringContext>().FirstOrDefault();
        return literal is not null && literal.GetText() == text && Cel.Helpers.StringHelpers.Unescape(literal.tok.Text, false) is string value ? value : null;
    }

    private static IEnumerable<IParseTree> Descendants(IParseTree node)
    {
        for (var i = 0; i < node.ChildCount; i++)
        {
            var child = node.GetChild(i);
            yield return child;
            foreach (var below in Descendants(child))
            {
                yield return below;
            }
        }
    }

    private static bool IsIdentifier(string text) =>
        text.Length > 0 && (char.IsAsciiLetter(text[0]) || text[0] == '_') && text.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');

    private static FrozenSet<string> MacroNames()
    {
        var macros = new Dictionary<string, CelMacroDelegate>();
        CelMacros.InitializeMacros(macros);
        return macros.Keys.ToFrozenSet(StringComparer.Ordinal);
    }

    private static FrozenSet<string> FunctionNames()
    {
        var functions = new ConcurrentDictionary<string, List<FunctionRegistration>>();
        CelFunctions.InitializeFunctions(functions);
        return functions.Keys.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>The package attaches its own listener but reads it before the lexer has run.</summary>
    private sealed class LexerErrors : IAntlrErrorListener<int>
    {
        public string? First { get; private set; }

        public void SyntaxError(TextWriter output, IRecognizer recognizer, int offendingSymbol, int line, int charPositionInLine, string msg, RecognitionException e) =>
            First ??= $"Line {line}:{charPositionInLine} {msg}";
    }
}
