using Worker.Chain;
using Worker.Providers;

namespace Worker.Tests.Providers;

public class FailureTextTests
{
    [Theory]
    [InlineData("key my-secret-123 leaked", "my-secret-123")]
    [InlineData("url ?key=my%2Bsecret", "my+secret")]
    [InlineData("Incorrect API key provided: sk-proj-****************abcd.", "other")]
    [InlineData("key=AIzaSyD-0123456789abcdefghijklmnopqrstu", "other")]
    public void Safe_removes_the_key_and_key_shaped_text(string text, string key)
    {
        var safe = FailureText.Safe(text, key);

        Assert.Contains("[redacted]", safe);
        Assert.DoesNotContain(key, safe);
        Assert.DoesNotContain("sk-proj", safe);
        Assert.DoesNotContain("AIza", safe);
    }

    [Fact]
    public void Safe_bounds_the_length_and_flattens_lines()
    {
        var safe = FailureText.Safe("line one\nline two " + new string('x', 2_000), "k3y");

        Assert.DoesNotContain('\n', safe);
        Assert.True(safe.Length <= 403, $"length {safe.Length}");
    }

    [Theory]
    [InlineData(429, ErrorClass.RateLimited)]
    [InlineData(401, ErrorClass.Auth)]
    [InlineData(403, ErrorClass.Auth)]
    [InlineData(408, ErrorClass.Timeout)]
    [InlineData(400, ErrorClass.InvalidRequest)]
    [InlineData(404, ErrorClass.InvalidRequest)]
    [InlineData(422, ErrorClass.InvalidRequest)]
    [InlineData(302, ErrorClass.InvalidRequest)]
    [InlineData(500, ErrorClass.Server)]
    [InlineData(503, ErrorClass.Server)]
    [InlineData(529, ErrorClass.Server)]
    public void Status_codes_map_to_classes(int status, ErrorClass expected)
    {
        Assert.Equal(expected, FailureText.ClassifyStatus(status));
    }
}
