using Cel;

namespace Relay.Tests.Conditions;

/// <summary>
/// What the <c>Cel</c> package (0.3.3) does with the values route conditions give it: maps are
/// <c>Dictionary&lt;string, object?&gt;</c>, lists <c>object?[]</c>, integers <c>long</c>, other numbers <c>double</c>.
/// These pin the behaviour Relay relies on, and the gaps docs/routing-conditions.md lists, so that a new version of the
/// package that changes either fails here first.
/// </summary>
public sealed class CelLibraryTests
{
    private static readonly CelEnvironment Environment = new(null, null);

    private static readonly Dictionary<string, object?> Variables = new()
    {
        ["type"] = "signature_request.done",
        ["tags"] = new object?[] { "sandbox", "eu" },
        ["headers"] = new Dictionary<string, object?> { ["x-yousign-retry"] = "0" },
        ["body"] = new Dictionary<string, object?>
        {
            ["data"] = new Dictionary<string, object?>
            {
                ["signature_request"] = new Dictionary<string, object?> { ["external_id"] = "crm-42", ["signers"] = 3L, ["score"] = 2.5 },
            },
            ["items"] = new object?[] { 1L, 2L, 3L },
            ["none"] = null,
            ["empty"] = Array.Empty<object?>(),
        },
    };

    [Theory]
    [InlineData("body.data.signature_request.external_id == 'crm-42'", true)]
    [InlineData("body['data']['signature_request']['external_id'] == 'crm-42'", true)]
    [InlineData("has(body.data)", true)]
    [InlineData("has(body.missing)", false)]
    [InlineData("type.startsWith('signature_request.')", true)]
    [InlineData("type.endsWith('.done')", true)]
    [InlineData("type.contains('request')", true)]
    [InlineData("type.matches('^signature_request\\\\.(done|expired)$')", true)]
    [InlineData("'sandbox' in tags", true)]
    [InlineData("'prod' in tags", false)]
    [InlineData("'x-yousign-retry' in headers", true)]
    [InlineData("'data' in body", true)]
    [InlineData("2 in body.items", true)]
    [InlineData("size(tags) == 2 && tags.size() == 2 && size(type) == 22 && size(body.data) == 1", true)]
    [InlineData("body.data.signature_request.signers == 3", true)]
    [InlineData("body.data.signature_request.signers > 2.5", true)]
    [InlineData("body.data.signature_request.score < 3", true)]
    [InlineData("body.data.signature_request.signers == 3.0", true)]
    [InlineData("type < 't' && type >= 'signature'", true)]
    [InlineData("type == 'x' || !(type == 'y') && true", true)]
    [InlineData("type == 'x' ? false : true", true)]
    [InlineData("body.items.exists(i, i == 2)", true)]
    [InlineData("body.items.all(i, i > 0)", true)]
    [InlineData("body.items.exists_one(i, i > 2)", true)]
    [InlineData("body.items.filter(i, i > 1).size() == 2", true)]
    [InlineData("body.items.map(i, i * 2)[2] == 6", true)]
    [InlineData("tags.exists(t, t.startsWith('eu'))", true)]
    [InlineData("body.items == [1, 2, 3]", true)]
    [InlineData("int('4') == 4 && string(4) == '4' && double('2.5') == 2.5", true)]
    [InlineData("body.none == null", true)]
    public void Evaluate_FeatureRouteConditionsUse_Works(string expression, bool expected) =>
        Assert.Equal(expected, Environment.Compile(expression)(Variables));

    /// <summary>A missing field is an error, not false: only <c>has()</c> asks whether it is there.</summary>
    [Theory]
    [InlineData("body.missing == 'x'", typeof(CelNoSuchFieldException))]
    [InlineData("body.missing.deeper == 'x'", typeof(CelTypeDoesNotSupportFieldSelectionException))]
    [InlineData("has(body.missing.deeper)", typeof(CelTypeDoesNotSupportFieldSelectionException))]
    [InlineData("body['missing'] == 'x'", typeof(CelArgumentRangeException))]
    [InlineData("body.items[7] == 1", typeof(CelArgumentRangeException))]
    public void Evaluate_MissingField_Throws(string expression, Type expected) =>
        Assert.IsType(expected, Record.Exception(() => Environment.Compile(expression)(Variables)), exactMatch: false);

    /// <summary>Comparing across types is an error for ordering and the string functions; <c>==</c> is just false.</summary>
    [Theory]
    [InlineData("type > 1")]
    [InlineData("body.data.signature_request.signers == '3'")]
    [InlineData("body.items.startsWith('1')")]
    [InlineData("1 / 0 == 1")]
    [InlineData("type.bogus()")]
    [InlineData("bogus(type)")]
    [InlineData("bogus == 1")]
    public void Evaluate_TypeErrorsAndUnknownNames_ThrowAtRunTime(string expression)
    {
        // The package only parses when compiling: names and types are looked up while evaluating.
        var program = Environment.Compile(expression);

        Assert.IsType<CelException>(Record.Exception(() => program(Variables)), exactMatch: false);
    }

    [Fact]
    public void Evaluate_EqualityAcrossTypes_FalseNotAnError() =>
        Assert.Equal(false, Environment.Compile("type == 1")(Variables));

    /// <summary>
    /// Gaps against the CEL specification that the docs warn about: <c>has()</c> is false for a field that is null or an
    /// empty list; <c>&amp;&amp;</c> and <c>||</c> short-circuit left to right only (an error on the left is not absorbed);
    /// a missing field on its own is a value of the package's, not an error; CLR properties are selectable.
    /// </summary>
    [Fact]
    public void Evaluate_KnownGaps_BehaveAsDocumented()
    {
        Assert.Equal(false, Environment.Compile("has(body.none)")(Variables));
        Assert.Equal(false, Environment.Compile("has(body.empty)")(Variables));
        Assert.Equal(true, Environment.Compile("true || body.missing == 1")(Variables));
        Assert.Equal(false, Environment.Compile("false && body.missing == 1")(Variables));
        Assert.IsType<CelNoSuchFieldException>(Record.Exception(() => Environment.Compile("body.missing == 1 || true")(Variables)));
        Assert.IsNotType<bool>(Environment.Compile("body.missing")(Variables));
        Assert.Equal(22, Environment.Compile("type.Length")(Variables));
    }

    [Theory]
    [InlineData("type ==")]
    [InlineData("type == 'done")]
    [InlineData("type = 'done'")]
    [InlineData("type.startsWith('a'")]
    [InlineData("a b")]
    public void Compile_SyntaxError_ThrowsWithLineAndColumn(string expression)
    {
        var error = Assert.Throws<CelExpressionParserException>(() => Environment.Compile(expression));

        Assert.StartsWith("Line 1:", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Characters the lexer cannot read are dropped without an error: the package registers a listener for them but
    /// looks at it before the lexer has run. Relay runs the lexer itself first (see RouteCondition).
    /// </summary>
    [Theory]
    [InlineData("type == 'signature_request.done' @")]
    [InlineData("type == 'signature_request.done' ;")]
    public void Compile_CharacterTheLexerCannotRead_SilentlyIgnored(string expression) =>
        Assert.Equal(true, Environment.Compile(expression)(Variables));

    /// <summary>One compiled program is evaluated by many requests at once.</summary>
    [Fact]
    public void Evaluate_OneProgramFromManyThreads_SameAnswers()
    {
        var program = Environment.Compile("body.data.signature_request.external_id.startsWith('crm-') && body.items.exists(i, i == 3)");

        var answers = new object?[2000];
        Parallel.For(0, answers.Length, i => answers[i] = program(Variables));

        Assert.All(answers, a => Assert.Equal(true, a));
    }

    /// <summary>
    /// The package has no cost limit; what Relay meters instead goes through the variable lookup it is given, which it
    /// calls for every name and (before selecting field by field) for every dotted path. With a container set, it asks
    /// for <c>container.name</c> first, even for a comprehension's own variable.
    /// </summary>
    [Fact]
    public void Evaluate_WithContainer_EveryNameAndDottedPathAskedOfTheVariables()
    {
        var asked = new List<string>();
        var lookup = new RecordingLookup(Variables, asked);

        Assert.Equal(true, new CelEnvironment(null, "relay").Compile("body.items.exists(i, i == 2)")(lookup));

        Assert.Contains("body.items", asked);
        Assert.True(asked.Count(a => a == "relay.i") >= 3, "the comprehension's variable is asked for under the container once per item, at least");
        Assert.Contains("relay.body", asked);
    }

    /// <summary>Looks up in a dictionary and records every name asked for.</summary>
    private sealed class RecordingLookup(Dictionary<string, object?> inner, List<string> asked) : Dictionary<string, object?>, IDictionary<string, object?>
    {
        bool IDictionary<string, object?>.TryGetValue(string key, out object? value)
        {
            lock (asked)
            {
                asked.Add(key);
            }

            return inner.TryGetValue(key, out value);
        }
    }
}
