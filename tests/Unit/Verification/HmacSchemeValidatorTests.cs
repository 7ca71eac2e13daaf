using Relay.Verification;

namespace Relay.Tests.Verification;

/// <summary>Every problem of an HMAC scheme is reported, each under the relay.yaml key to change.</summary>
public sealed class HmacSchemeValidatorTests
{
    private static readonly HmacScheme Yousign = new("X-Yousign-Signature-256", HmacAlgorithm.Sha256, SignatureEncoding.Hex, "sha256=", "{body}", null, TimeSpan.Zero, null);
    private static readonly HmacScheme TimestampScheme = new("X-Signature", HmacAlgorithm.Sha256, SignatureEncoding.Base64, "", "{timestamp}.{body}", "X-Timestamp", TimeSpan.FromMinutes(5), null);
    private static readonly HmacScheme IdScheme = new("X-Signature", HmacAlgorithm.Sha256, SignatureEncoding.Hex, "", "{id}.{timestamp}.{body}", "X-Timestamp", TimeSpan.FromMinutes(5), "X-Message-Id");

    [Fact]
    public void Validate_TimestampPlaceholderWithoutTimestampHeader_ReportsFixUnderTimestampHeader()
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(TimestampScheme with { TimestampHeader = null }));

        Assert.Equal("timestampHeader", problem.Key);
        Assert.Contains("{timestamp}", problem.Message, StringComparison.Ordinal);
        Assert.Contains("add timestampHeader", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{body}")]
    [InlineData("{id}.{body}")]
    public void Validate_TimestampHeaderButTimestampNotSigned_ReportsFixUnderTimestampHeader(string template)
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(IdScheme with { Template = template }));

        Assert.Equal("timestampHeader", problem.Key);
        Assert.Contains("does not sign {timestamp}", problem.Message, StringComparison.Ordinal);
        Assert.Contains("remove timestampHeader", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_IdPlaceholderWithoutIdHeader_ReportsFixUnderIdHeader()
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(IdScheme with { IdHeader = null }));

        Assert.Equal("idHeader", problem.Key);
        Assert.Contains("{id}", problem.Message, StringComparison.Ordinal);
        Assert.Contains("add idHeader", problem.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{timestamp}.", "must contain {body} exactly once")]
    [InlineData("{body}{body}", "must contain {body} exactly once")]
    [InlineData("{Body}", "placeholder {Body} is not supported")]
    [InlineData("{ts}.{body}", "placeholder {ts} is not supported")]
    [InlineData("", "template is required")]
    public void Validate_BadTemplate_ReportsErrorUnderTemplate(string template, string expected)
    {
        var problems = HmacSchemeValidator.Validate(TimestampScheme with { Template = template });

        Assert.Contains(problems, problem => problem.Key == "template" && problem.Message.Contains(expected, StringComparison.Ordinal));
        Assert.All(problems, problem => Assert.Equal("template", problem.Key));
    }

    [Fact]
    public void Validate_MissingBodyAndMisspelledPlaceholder_ReportsBoth()
    {
        var problems = HmacSchemeValidator.Validate(Yousign with { Template = "{Body}" });

        Assert.Equal(2, problems.Count);
        Assert.Contains(problems, problem => problem.Message.Contains("{body} exactly once", StringComparison.Ordinal));
        Assert.Contains(problems, problem => problem.Message.Contains("{Body} is not supported", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_TimestampHeaderWithoutTolerance_ReportsErrorUnderTolerance()
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(TimestampScheme with { Tolerance = TimeSpan.Zero }));

        Assert.Equal("tolerance", problem.Key);
        Assert.Contains("at least 1 second", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BlankTimestampOrIdHeader_ReportsErrorUnderThatKey()
    {
        var blankTimestamp = Assert.Single(HmacSchemeValidator.Validate(Yousign with { TimestampHeader = " ", Tolerance = TimeSpan.FromMinutes(5) }));
        var blankId = Assert.Single(HmacSchemeValidator.Validate(Yousign with { IdHeader = "" }));

        Assert.Equal(new HmacSchemeProblem("timestampHeader", "timestampHeader is blank: set it to a header name, or remove it"), blankTimestamp);
        Assert.Equal(new HmacSchemeProblem("idHeader", "idHeader is blank: set it to a header name, or remove it"), blankId);
    }

    [Fact]
    public void Validate_BlankTimestampHeaderWithTimestampPlaceholder_ReportsOnlyTheBlankHeader()
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(TimestampScheme with { TimestampHeader = "" }));

        Assert.Equal("timestampHeader", problem.Key);
        Assert.Contains("is blank", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_EmptyHeader_ReportsErrorUnderHeader()
    {
        var problem = Assert.Single(HmacSchemeValidator.Validate(Yousign with { Header = "" }));

        Assert.Equal("header", problem.Key);
        Assert.Contains("header carrying the signature", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UnknownAlgorithmEncodingAndNullPrefix_ReportsEachUnderItsKey()
    {
        var problems = HmacSchemeValidator.Validate(Yousign with { Algorithm = (HmacAlgorithm)99, Encoding = (SignatureEncoding)99, Prefix = null! });

        Assert.Equal(["algorithm", "encoding", "prefix"], problems.Select(problem => problem.Key));
        Assert.Contains("use sha1, sha256 or sha512", problems[0].Message, StringComparison.Ordinal);
        Assert.Contains("use hex or base64", problems[1].Message, StringComparison.Ordinal);
        Assert.Contains("use \"\"", problems[2].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOneUnderItsKey()
    {
        var scheme = TimestampScheme with { Header = " ", Template = "{timestamp}.{nonce}.{body}", TimestampHeader = null };

        var problems = HmacSchemeValidator.Validate(scheme);

        Assert.Equal(["header", "template", "timestampHeader"], problems.Select(problem => problem.Key).Order(StringComparer.Ordinal));
        Assert.Contains("{nonce}", problems.Single(problem => problem.Key == "template").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_GoodSchemes_ReportsNoProblem()
    {
        Assert.Empty(HmacSchemeValidator.Validate(Yousign));
        Assert.Empty(HmacSchemeValidator.Validate(TimestampScheme));
        Assert.Empty(HmacSchemeValidator.Validate(IdScheme));
        Assert.Empty(HmacSchemeValidator.Validate(Yousign with { Template = """{"sig":{body}}""" }));
    }
}
