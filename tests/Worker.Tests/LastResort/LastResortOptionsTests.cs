using Microsoft.Extensions.DependencyInjection;
using Worker.Audit;
using Worker.Chain;
using Worker.LastResort;
using Worker.Tests.Fakes;

namespace Worker.Tests.LastResort;

/// <summary>Bad last-resort settings stop the worker at start, each naming the key to fix and its variable.</summary>
public class LastResortOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) =>
        {
            services.AddOptions<ChainsOptions>().BindConfiguration(ChainsOptions.Section);
            services.AddOptions<AuditOptions>().BindConfiguration(AuditOptions.Section);
            services.AddLastResort();
        });

    [Fact]
    public void No_section_starts_with_no_cache_and_no_template()
    {
        Assert.Empty(Problems());
    }

    [Fact]
    public void A_cache_and_a_template_within_bounds_start()
    {
        Assert.Empty(Problems(
            ("LastResort:MaxCacheEntries", "5000"),
            ("LastResort:Chains:default:Cache:Enabled", "true"),
            ("LastResort:Chains:default:Cache:TtlSeconds", "60"),
            ("LastResort:Chains:default:Cache:StaleSeconds", "0"),
            ("LastResort:Chains:default:Template", "Thanks {name}, we will be back shortly."),
            ("LastResort:Chains:default:TemplateMissingValue", "there")));
    }

    [Fact]
    public void A_cache_with_prompt_storage_none_is_refused_naming_both_settings()
    {
        var problem = Assert.Single(Problems(("Audit:PromptStorage", "None"), ("LastResort:Chains:default:Cache:Enabled", "true")));

        Assert.StartsWith("LastResort:Chains:default:Cache:Enabled is true but Audit:PromptStorage is None (env Audit__PromptStorage)", problem);
        Assert.EndsWith("(env LastResort__Chains__default__Cache__Enabled)", problem);
    }

    [Fact]
    public void A_disabled_cache_with_prompt_storage_none_starts()
    {
        Assert.Empty(Problems(("Audit:PromptStorage", "None"), ("LastResort:Chains:default:Cache:Enabled", "false")));
    }

    [Theory]
    [InlineData("LastResort:Chains:default:Cache:TtlSeconds", "0", "LastResort:Chains:default:Cache:TtlSeconds must be between 1 and 31536000 seconds, was 0 (env LastResort__Chains__default__Cache__TtlSeconds)")]
    [InlineData("LastResort:Chains:default:Cache:StaleSeconds", "-1", "LastResort:Chains:default:Cache:StaleSeconds must be between 0 and 31536000 seconds, was -1 (env LastResort__Chains__default__Cache__StaleSeconds)")]
    [InlineData("LastResort:MaxCacheEntries", "0", "LastResort:MaxCacheEntries must be between 1 and 100000000, was 0 (env LastResort__MaxCacheEntries)")]
    [InlineData("LastResort:Chains:default:Template", "Hi {name", "LastResort:Chains:default:Template has a '{' at position 3 that is not closed (write '{{' for a literal brace) (env LastResort__Chains__default__Template)")]
    [InlineData("LastResort:Chains:default:Cache:TTL", "5", "LastResort:Chains:default:Cache:TTL is not a setting; known: Enabled, TtlSeconds, StaleSeconds (env LastResort__Chains__default__Cache__TTL)")]
    public void Out_of_range_malformed_and_misspelt_settings_are_refused_naming_the_key(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Fact]
    public void Settings_for_a_chain_that_is_not_configured_are_refused()
    {
        var problem = Assert.Single(Problems(("LastResort:Chains:nope:Template", "Hi")));

        Assert.StartsWith("LastResort:Chains:nope names no configured chain; configured:", problem);
    }
}
