using Worker.Chain;
using Worker.Providers;
using Worker.Tests.Fakes;

namespace Worker.Tests.Chain;

/// <summary>Bad chain settings stop the worker at start with the key to fix; durations have upper bounds.</summary>
public class ChainsOptionsTests
{
    private static IReadOnlyList<string> Problems(params (string Key, string? Value)[] changes) =>
        StartupChecks.Problems(StartupChecks.ValidWith(changes), (services, _) => services.AddProviders().AddChains());

    [Fact]
    public void Chains_within_every_bound_start()
    {
        Assert.Empty(Problems(
            ("Chains:default:0:BaseDelay", "00:00:05"),
            ("Chains:default:0:MaxDelay", "01:00:00"),
            ("Chains:default:0:MaxRetryAfter", "01:00:00"),
            ("Chains:default:0:Timeout", "00:30:00"),
            ("Chains:default:0:MinTimeToAnswer", "00:10:00"),
            ("Chains:fast:0:Provider", "OPENAI"),
            ("Chains:fast:0:Model", "gpt-4o-mini"),
            ("Chain:InProcessWaitLimit", "00:10:00"),
            ("Chain:MaxDeferral", "1.00:00:00")));
    }

    [Theory]
    [InlineData("Chains:default:0:Timeout", "30", "Chains:default:0:Timeout must be between 00:00:00.001 and 00:30:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env Chains__default__0__Timeout)")]
    [InlineData("Chains:default:0:Timeout", "00:00:00", "Chains:default:0:Timeout must be between 00:00:00.001 and 00:30:00, was 00:00:00 (env Chains__default__0__Timeout)")]
    [InlineData("Chains:default:1:MaxDelay", "01:00:01", "Chains:default:1:MaxDelay must be between 00:00:00 and 01:00:00, was 01:00:01 (env Chains__default__1__MaxDelay)")]
    [InlineData("Chains:default:0:MaxRetryAfter", "90", "Chains:default:0:MaxRetryAfter must be between 00:00:00 and 01:00:00, was 90.00:00:00: a bare number is read as days, did you mean 00:01:30? (env Chains__default__0__MaxRetryAfter)")]
    [InlineData("Chains:default:0:MinTimeToAnswer", "-00:00:01", "Chains:default:0:MinTimeToAnswer must be between 00:00:00 and 00:10:00, was -00:00:01 (env Chains__default__0__MinTimeToAnswer)")]
    [InlineData("Chains:default:0:MaxRetries", "11", "Chains:default:0:MaxRetries must be between 0 and 10, was 11 (env Chains__default__0__MaxRetries)")]
    [InlineData("Chains:default:0:JitterRatio", "1.5", "Chains:default:0:JitterRatio must be between 0 and 1, was 1.5 (env Chains__default__0__JitterRatio)")]
    [InlineData("Chains:default:0:Model", "", "Chains:default:0:Model is required (env Chains__default__0__Model)")]
    [InlineData("Chain:MaxDeferral", "30", "Chain:MaxDeferral must be between 00:00:00 and 1.00:00:00, was 30.00:00:00: a bare number is read as days, did you mean 00:00:30? (env Chain__MaxDeferral)")]
    [InlineData("Chain:InProcessWaitLimit", "00:11:00", "Chain:InProcessWaitLimit must be between 00:00:00 and 00:10:00, was 00:11:00 (env Chain__InProcessWaitLimit)")]
    public void A_value_out_of_bounds_is_refused_naming_the_key_and_the_variable(string key, string value, string expected) =>
        Assert.Equal(expected, Assert.Single(Problems((key, value))));

    [Fact]
    public void A_base_delay_above_the_max_delay_is_refused()
    {
        var problem = Assert.Single(Problems(("Chains:default:0:BaseDelay", "00:00:40"), ("Chains:default:0:MaxDelay", "00:00:30")));

        Assert.Equal("Chains:default:0:BaseDelay must not be above MaxDelay (00:00:30), was 00:00:40 (env Chains__default__0__BaseDelay)", problem);
    }

    [Fact]
    public void A_misspelt_provider_is_refused_listing_the_configured_ones()
    {
        var problem = Assert.Single(Problems(("Chains:default:1:Provider", "opneai")));

        Assert.Equal("Chains:default:1:Provider 'opneai' is not a configured provider; configured: gemini, openai (env Chains__default__1__Provider)", problem);
    }

    [Fact]
    public void A_misspelt_step_setting_is_refused_instead_of_ignored()
    {
        var problem = Assert.Single(Problems(("Chains:default:0:Timout", "00:00:10")));

        Assert.StartsWith("Chains:default:0:Timout is not a setting; known: Provider, Model, MaxRetries", problem);
        Assert.EndsWith("(env Chains__default__0__Timout)", problem);
    }

    [Fact]
    public void Without_a_default_chain_the_worker_does_not_start()
    {
        var settings = StartupChecks.Valid();
        foreach (var key in settings.Keys.Where(k => k.StartsWith("Chains:default", StringComparison.Ordinal)).ToList())
        {
            settings.Remove(key);
        }

        settings["Chains:fast:0:Provider"] = "openai";
        settings["Chains:fast:0:Model"] = "gpt-4o-mini";

        var problem = Assert.Single(StartupChecks.Problems(settings, (services, _) => services.AddProviders().AddChains()));
        Assert.Equal("Chains:default is missing: requests that name no chain use it (env Chains__default__0__Provider, Chains__default__0__Model)", problem);
    }
}
