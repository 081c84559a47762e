using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;

namespace Worker.Tests.ProviderHealth;

/// <summary>The Quotas section and the heartbeat knobs are checked at start, each problem naming its key.</summary>
public class QuotaOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddProviders().AddProviderHealth());

    [Fact]
    public void Daily_quotas_of_configured_providers_start()
    {
        Assert.Empty(Problems(
            ("Quotas:openai:gpt-4o-mini:RequestsPerDay", "10000"),
            ("Quotas:OPENAI:o3-mini:TokensPerDay", "2000000"),
            ("ProviderHealth:Alerts:QuotaLow", "0.1"),
            ("ProviderHealth:HeartbeatInterval", "00:00:05"),
            ("ProviderHealth:InstanceTimeout", "00:00:20")));
    }

    [Theory]
    [InlineData("Quotas:opneai:gpt-4o-mini:RequestsPerDay", "5", "Quotas:opneai is not a configured provider; configured: gemini, openai (env Quotas__opneai__*)")]
    [InlineData("Quotas:openai:gpt-4o-mini:RequestsPerDay", "-1", "Quotas:openai:gpt-4o-mini:RequestsPerDay must be between 0 and 1000000000, was -1 (env Quotas__openai__gpt-4o-mini__RequestsPerDay)")]
    [InlineData("Quotas:openai:gpt-4o-mini:RequestPerDay", "5", "Quotas:openai:gpt-4o-mini:RequestPerDay is not a setting; known: RequestsPerDay, TokensPerDay (env Quotas__openai__gpt-4o-mini__RequestPerDay)")]
    [InlineData("ProviderHealth:Alerts:QuotaLow", "1", "ProviderHealth:Alerts:QuotaLow must be in [0, 1), was 1 (env ProviderHealth__Alerts__QuotaLow)")]
    [InlineData("ProviderHealth:InstanceTimeout", "00:00:10", "ProviderHealth:InstanceTimeout must be longer than HeartbeatInterval (00:00:10), was 00:00:10 (env ProviderHealth__InstanceTimeout)")]
    [InlineData("ProviderHealth:HeartbeatInterval", "10", "ProviderHealth:HeartbeatInterval must be 0 (off) or between 00:00:01 and 00:05:00, was 10.00:00:00: a bare number is read as days, did you mean 00:00:10? (env ProviderHealth__HeartbeatInterval)")]
    [InlineData("ProviderHealth:QuotaRefreshInterval", "00:00:00", "ProviderHealth:QuotaRefreshInterval must be between 00:00:01 and 01:00:00, was 00:00:00 (env ProviderHealth__QuotaRefreshInterval)")]
    public void A_bad_value_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Contains(expected, Problems((key, value)));

    [Fact]
    public void A_quota_without_a_model_is_refused()
    {
        var problems = Problems(("Quotas:openai:RequestsPerDay", "5"));

        Assert.Contains(problems, p => p.StartsWith("Quotas:openai:RequestsPerDay must be a model's section", StringComparison.Ordinal));
    }
}
