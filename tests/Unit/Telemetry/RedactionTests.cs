using Relay.Telemetry;

namespace Relay.Tests.Telemetry;

public sealed class RedactionTests
{
    [Theory]
    [InlineData("X-Yousign-Signature-256")]
    [InlineData("webhook-signature")]
    [InlineData("X-Signed")]
    [InlineData("Authorization")]
    [InlineData("X-Api-Key")]
    [InlineData("Cookie")]
    public void Credential_and_signature_headers_are_sensitive(string name) => Assert.True(Redaction.IsSensitiveHeader(name));

    [Theory]
    [InlineData("Content-Type")]
    [InlineData("User-Agent")]
    [InlineData("webhook-id")]
    [InlineData("X-Yousign-Retry")]
    public void Ordinary_headers_are_not_sensitive(string name) => Assert.False(Redaction.IsSensitiveHeader(name));

    [Fact]
    public void Presigned_url_loses_its_query_but_keeps_its_path()
    {
        var text = """{"documentUrl":"https://bucket.s3.amazonaws.com/docs/a.pdf?X-Amz-Signature=abc123&X-Amz-Expires=900","n":1}""";
        var redacted = Redaction.RedactUrlQueries(text);
        Assert.DoesNotContain("abc123", redacted, StringComparison.Ordinal);
        Assert.Contains("https://bucket.s3.amazonaws.com/docs/a.pdf?[redacted]", redacted, StringComparison.Ordinal);
        Assert.EndsWith("\",\"n\":1}", redacted, StringComparison.Ordinal);
    }

    [Fact]
    public void Text_without_urls_is_unchanged() => Assert.Equal("status=COMPLETED id=42", Redaction.RedactUrlQueries("status=COMPLETED id=42"));

    [Fact]
    public void Form_body_loses_token_and_signature_values_but_keeps_the_rest()
    {
        var redacted = Redaction.RedactFormFields("EventType=document&ps_securitytoken=s3cr3t&PartStatus=6&signed=AbC%2B%3D&flag");
        Assert.Equal("EventType=document&ps_securitytoken=[redacted]&PartStatus=6&signed=[redacted]&flag", redacted);
    }
}
