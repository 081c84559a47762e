using Worker.Requests;
using Worker.Tests.Fakes;

namespace Worker.Tests.Requests;

/// <summary>The settings AddRequests validates at start: the Requests section (what is accepted), the claim leases (keys under Messaging) and Deferrals.</summary>
public class RequestsOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddRequests());

    [Fact]
    public void The_defaults_start() => Assert.Empty(Problems());

    [Theory]
    [InlineData("Requests:MaxMessages", "0", "Requests:MaxMessages must be between 1 and 100000, was 0 (env Requests__MaxMessages)")]
    [InlineData("Messaging:ClaimLease", "01:00:01", "Messaging:ClaimLease must be between 00:00:02 and 01:00:00, was 01:00:01 (env Messaging__ClaimLease)")]
    [InlineData("Messaging:ClaimRenewInterval", "00:00:31", "Messaging:ClaimRenewInterval must be at most half of Messaging:ClaimLease (00:01:00), was 00:00:31 (env Messaging__ClaimRenewInterval)")]
    public void A_bad_value_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));
}
