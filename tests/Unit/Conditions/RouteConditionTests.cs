using System.Diagnostics;
using System.Text;
using Relay.Conditions;
using Relay.Ingress;
using Relay.Sources;

namespace Relay.Tests.Conditions;

/// <summary>A route's <c>when:</c>: what the load refuses, and what an evaluation over an event's data gives.</summary>
public sealed class RouteConditionTests
{
    private const string Yousign = """
        {"event_id":"e-1","event_name":"signature_request.done","data":{"signature_request":{"id":"sr-1","external_id":"crm-42","signers":2,"ratio":0.5,"big":12345678901234567890,"huge":1e400,"tags":["a","b"]}}}
        """;

    [Theory]
    [InlineData("type == 'signature_request.done'", true)]
    [InlineData("source == 'yousign' && 'vip' in tags && !('other' in tags)", true)]
    [InlineData("body.data.signature_request.external_id.startsWith('crm-')", true)]
    [InlineData("body.data.signature_request.external_id.matches('^crm-[0-9]+$')", true)]
    [InlineData("body['data']['signature_request'].id == 'sr-1'", true)]
    [InlineData("has(body.data.signature_request.external_id) && !has(body.data.signature_request.missing)", true)]
    [InlineData("body.data.signature_request.signers == 2 && body.data.signature_request.signers > 1.5", true)]
    [InlineData("type(body.data.signature_request.signers) == int && type(body.data.signature_request.ratio) == double", true)]
    [InlineData("type(body.data.signature_request.big) == double && body.data.signature_request.huge > 1e300", true)]
    [InlineData("body.data.signature_request.tags.exists(t, t == 'b') && size(body.data.signature_request.tags) == 2", true)]
    [InlineData("headers['x-yousign-retry'] == '0' && headers['x-multi'] == 'one, two'", true)]
    [InlineData("body.data.signature_request.external_id.startsWith('erp-')", false)]
    public void Evaluate_JsonEvent_AsWritten(string expression, bool expected)
    {
        var variables = Input(Yousign, "application/json", tags: ["vip"], headers: [new("X-Yousign-Retry", "0"), new("X-Multi", "one"), new("X-Multi", "two")]);

        Assert.Equal(new ConditionOutcome(expected ? ConditionVerdict.True : ConditionVerdict.False), Compile(expression).Evaluate(variables));
    }

    [Theory]
    [InlineData("body.DocStatus == '4' && int(body.DocStatus) == 4", true)]
    [InlineData("body.docstatus == '4'", true)]
    [InlineData("body.EventType == 'document' && body.Note == 'a, b'", true)]
    public void Evaluate_FormBody_FieldsAsStrings(string expression, bool expected)
    {
        var variables = Input("TransID=1234567890&DocStatus=4&EventType=document&Note=a&Note=b", "application/x-www-form-urlencoded");

        Assert.Equal(expected, Compile(expression).Evaluate(variables).Verdict == ConditionVerdict.True);
    }

    [Fact]
    public void Evaluate_GetWithoutBody_QueryStringFields()
    {
        var variables = Input("", null, method: "GET", query: "?TransID=1&DocStatus=4&EventType=document");

        Assert.Equal(ConditionVerdict.True, Compile("body.DocStatus == '4'").Evaluate(variables).Verdict);
    }

    [Fact]
    public void Evaluate_OtherContentType_BodyAsText()
    {
        var variables = Input("<event status=\"done\"/>", "application/xml");

        Assert.Equal(ConditionVerdict.True, Compile("body.contains('status=\"done\"')").Evaluate(variables).Verdict);
    }

    [Fact]
    public void Evaluate_KindGivesTheEventsOwnJson_ReadInsteadOfTheBody()
    {
        var incoming = new IncomingEvent("k", "signer.status.40", [], "k", Encoding.UTF8.GetBytes("data=%5B%5D"), Content: Encoding.UTF8.GetBytes("""{"name":"status","value":"40"}"""));
        var variables = new ConditionInput("legalesign", incoming, Origin("data=x&signed=y", "application/x-www-form-urlencoded")).Variables;

        Assert.Equal(ConditionVerdict.True, Compile("body.value == '40' && !has(body.data)").Evaluate(variables).Verdict);
    }

    [Theory]
    [InlineData("body.data.nope == 'x'", "no field nope in body.data")]
    [InlineData("body.data.nope.deeper == 'x'", "no field nope in body.data")]
    [InlineData("body.data.signature_request.nope.startsWith('crm-')", "no field nope in body.data.signature_request")]
    [InlineData("has(body.data.nope) || body.data.signature_request.ratio > 'x'", "overload")]
    [InlineData("body.data.signature_request.signers == 'two'", "compare")]
    [InlineData("body.data.signature_request.external_id > 3", "overload")]
    [InlineData("body.data.nope", "no field nope in body.data")]
    [InlineData("body.data.signature_request.signers", "gave an int, not true or false")]
    [InlineData("body.data.signature_request.tags[5] == 'x'", "range")]
    public void Evaluate_MissingFieldOrTypeError_FailedWithADetail(string expression, string detail)
    {
        var outcome = Compile(expression).Evaluate(Input(Yousign, "application/json"));

        Assert.Equal(ConditionVerdict.Failed, outcome.Verdict);
        Assert.Contains(detail, outcome.Detail, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Evaluate_JsonContentTypeButNotJson_FailsOnlyWhenBodyIsRead()
    {
        var variables = Input("not json", "application/json");

        Assert.Equal(ConditionVerdict.True, Compile("type == 'signature_request.done'").Evaluate(variables).Verdict);
        Assert.Equal(ConditionOutcome.Failed("body is not JSON"), Compile("body.x == 1").Evaluate(variables));
    }

    [Fact]
    public void Evaluate_SeveralConditions_BodyParsedOnceAndNotAtAllWhenUnused()
    {
        var variables = Input(Yousign, "application/json");
        var unused = Input(Yousign, "application/json");

        Compile("has(body.data)").Evaluate(variables);
        Compile("body.data.signature_request.id == 'sr-1'").Evaluate(variables);
        Compile("body.event_id == 'e-1'").Evaluate(variables);
        Compile("type == 'x'").Evaluate(unused);

        Assert.Equal(1, variables.BodyReads);
        Assert.Equal(0, unused.BodyReads);
    }

    /// <summary>
    /// Nested comprehensions over a list of the body: 4 million comparisons, minutes in this package. The meter stops
    /// it at its step cap, and the outcome is a failure whatever the package made of the exception inside <c>all()</c>.
    /// </summary>
    [Theory]
    [InlineData("body.items.all(a, body.items.all(b, a == b || a != b))")]
    [InlineData("body.items.exists(a, body.items.exists(b, a + b < 0))")]
    [InlineData("body.items.filter(a, body.items.exists(b, b > a)).size() > 0")]
    [InlineData("body.items.all(a, body.items.all(b, true))")]
    public void Evaluate_NestedComprehensionsOverABigList_StoppedAtTheStepCap(string expression)
    {
        var variables = Input("{\"items\":[" + string.Join(",", Enumerable.Range(0, 2000)) + "]}", "application/json");
        var condition = Compile(expression);

        var clock = Stopwatch.StartNew();
        var outcome = condition.Evaluate(variables);

        Assert.Equal(ConditionVerdict.Failed, outcome.Verdict);
        Assert.StartsWith("cost limit:", outcome.Detail, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");

        // The meter starts again for the next evaluation.
        Assert.Equal(ConditionVerdict.True, Compile("size(body.items) == 2000").Evaluate(variables).Verdict);
    }

    /// <summary>Few steps, each dear (a 1,000-item literal built per item of the body): the time cap stops it.</summary>
    [Fact]
    public void Evaluate_FewButDearSteps_StoppedAtTheTimeCap()
    {
        var literal = "[" + string.Join(",", Enumerable.Range(0, 1000)) + "]";
        var variables = Input("{\"items\":[" + string.Join(",", Enumerable.Range(5000, 5000)) + "]}", "application/json");
        var condition = Compile($"body.items.all(a, !(a in {literal}))");

        var clock = Stopwatch.StartNew();
        var outcome = condition.Evaluate(variables);

        Assert.Equal(ConditionOutcome.Failed("cost limit: ran longer than 100 ms"), outcome);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }

    /// <summary>
    /// Failure mode: the first evaluation after start-up (code compiled on first use) or one caught in a long garbage
    /// collection took longer than the time cap on a busy machine, and its event missed the route. A condition of a
    /// few steps is never failed on time.
    /// </summary>
    [Fact]
    public void Evaluate_FewStepsButSlow_NotFailedOnTime()
    {
        var meter = new CostMeter();
        meter.Start();
        Thread.Sleep(ConditionLimits.MaxTime + TimeSpan.FromMilliseconds(50));

        for (var i = 1; i < ConditionLimits.TimeCheckedFromStep; i++)
        {
            meter.Step();
        }

        Assert.Null(meter.Exceeded);
        Assert.Throws<ConditionCostException>(meter.Step);
        Assert.Equal("cost limit: ran longer than 100 ms", meter.Exceeded);
    }

    [Fact]
    public void Evaluate_CatastrophicPatternOnALongField_LinearTime()
    {
        var variables = Input("{\"text\":\"" + new string('a', 50_000) + "!\"}", "application/json");

        var clock = Stopwatch.StartNew();
        var outcome = Compile("body.text.matches('^(a+)+$')").Evaluate(variables);

        Assert.Equal(ConditionVerdict.False, outcome.Verdict);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"took {clock.Elapsed}");
    }

    [Theory]
    [InlineData("type ==", "is not a valid CEL expression: Line 1:7")]
    [InlineData("type == 'done' @ x", "is not a valid CEL expression: Line 1:15 token recognition error at: '@'")]
    [InlineData("bdy.data.id == 'x'", "names 'bdy', which is not a variable. Use type, source, tags, headers, body")]
    [InlineData("Type == 'x'", "names 'Type', which is not a variable; did you mean type?")]
    [InlineData("type.startswith('x')", "calls startswith(), which is not a CEL function; did you mean startsWith()?")]
    [InlineData("lower(type) == 'x'", "calls lower(), which is not a CEL function.")]
    [InlineData("tags.exists(t)", "calls exists() with 1 argument(s)")]
    [InlineData("[1, 2].exists(i, i == body.n)", "ranges exists() over a literal")]
    [InlineData("[1, 2].map(i, i * 2).exists(i, i == body.n)", "ranges map() over a literal")]
    [InlineData("tags.exists(body, body == 'x')", "names the variable of exists() 'body', which hides the variable body")]
    [InlineData("tags.exists(t, u == 'x')", "names 'u', which is not a variable")]
    [InlineData("type.matches('(?<=a)b')", "has a matches() pattern that cannot be used")]
    [InlineData("body.?data == 'x'", "selects with .? or [?")]
    [InlineData("body.data.lowerAscii() == 'x'", "calls lowerAscii(), which is not a CEL function.")]
    [InlineData("", "is empty")]
    public void TryCompile_Refused_SaysWhy(string expression, string expected)
    {
        Assert.False(RouteCondition.TryCompile(expression, out var condition, out var error));

        Assert.Null(condition);
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void TryCompile_LongerThanTheCap_Refused()
    {
        var longest = "type == '" + new string('x', ConditionLimits.MaxLength - 10) + "'";
        var tooLong = longest + " ";

        Assert.True(RouteCondition.TryCompile(longest, out _, out _));
        Assert.False(RouteCondition.TryCompile(tooLong, out _, out var error));
        Assert.Equal("is 4,097 characters long; the most is 4,096. Simplify it, or split it over several routes.", error);
    }

    [Theory]
    [InlineData("tags.exists(t, t.startsWith('eu')) && headers.exists(h, h == 'x-a')")]
    [InlineData("body.items.filter(i, i.subitems.exists(s, s.ok)).size() > 0")]
    [InlineData("type(body.x) == string || type(body.x) == map")]
    public void TryCompile_ComprehensionsOverTheEventAndTypeNames_Accepted(string expression) =>
        Assert.True(RouteCondition.TryCompile(expression, out _, out var error), error);

    internal static RouteCondition Compile(string expression)
    {
        Assert.True(RouteCondition.TryCompile(expression, out var condition, out var error), error);
        return condition;
    }

    internal static ConditionVariables Input(
        string body, string? contentType, IReadOnlyList<string>? tags = null, IReadOnlyList<KeyValuePair<string, string>>? headers = null, string method = "POST", string query = "")
    {
        var incoming = new IncomingEvent("k", "signature_request.done", tags ?? [], "k");
        return new ConditionInput("yousign", incoming, Origin(body, contentType, headers, method, query)).Variables;
    }

    internal static EventOrigin Origin(
        string body, string? contentType, IReadOnlyList<KeyValuePair<string, string>>? headers = null, string method = "POST", string query = "") =>
        new(method, query, contentType, headers ?? [], Encoding.UTF8.GetBytes(body));
}
