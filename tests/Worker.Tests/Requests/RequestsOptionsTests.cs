using Worker.Requests;
using Worker.Tests.Fakes;

namespace Worker.Tests.Requests;

/// <summary>The settings AddRequests validates at start: the Requests section (what is accepted) and Deferrals.</summary>
public class RequestsOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddRequests());

    [Fact]
    public void The_defaults_start() => Assert.Empty(Problems());

    [Theory]
    [InlineData("Requests:MaxMessages", "0", "Requests:MaxMessages must be between 1 and 100000, was 0 (env Requests__MaxMessages)")]
    public void A_bad_value_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));
}
