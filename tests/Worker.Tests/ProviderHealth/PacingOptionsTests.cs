using Worker.ProviderHealth;
using Worker.Providers;
using Worker.Tests.Fakes;

namespace Worker.Tests.ProviderHealth;

/// <summary>The Pacing section names configured providers only, within its ranges: a typo would otherwise pace nothing.</summary>
public class PacingOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddProviders().AddProviderHealth());

    [Fact]
    public void Pacing_of_configured_providers_within_range_starts_whatever_the_case_of_the_name()
    {
        Assert.Empty(Problems(
            ("Pacing:GEMINI:RequestsPerMinute", "15"),
            ("Pacing:GEMINI:TokensPerMinute", "1000000"),
            ("Pacing:GEMINI:MaxWait", "00:01:00"),
            ("Pacing:openai:RequestsPerMinute", "0")));
    }

    [Fact]
    public void A_misspelt_provider_name_is_refused_listing_the_configured_providers()
    {
        var problem = Assert.Single(Problems(("Pacing:gemni:RequestsPerMinute", "15")));

        Assert.Equal("Pacing:gemni is not a configured provider; configured: gemini, openai (env Pacing__gemni__*)", problem);
    }

    [Theory]
    [InlineData("Pacing:gemini:RequestsPerMinute", "-1", "Pacing:gemini:RequestsPerMinute must be between 0 and 1000000, was -1 (env Pacing__gemini__RequestsPerMinute)")]
    [InlineData("Pacing:gemini:TokensPerMinute", "100000001", "Pacing:gemini:TokensPerMinute must be between 0 and 100000000, was 100000001 (env Pacing__gemini__TokensPerMinute)")]
    [InlineData("Pacing:gemini:MaxWait", "00:01:01", "Pacing:gemini:MaxWait must be between 00:00:00 and 00:01:00, was 00:01:01 (env Pacing__gemini__MaxWait)")]
    [InlineData("Pacing:gemini:MaxWait", "5", "Pacing:gemini:MaxWait must be between 00:00:00 and 00:01:00, was 5.00:00:00: a bare number is read as days, did you mean 00:00:05? (env Pacing__gemini__MaxWait)")]
    public void A_value_out_of_range_is_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Fact]
    public void A_misspelt_setting_is_refused_instead_of_ignored()
    {
        var problem = Assert.Single(Problems(("Pacing:gemini:RequestPerMinute", "15")));

        Assert.Equal("Pacing:gemini:RequestPerMinute is not a setting; known: RequestsPerMinute, TokensPerMinute, MaxWait (env Pacing__gemini__RequestPerMinute)", problem);
    }
}
