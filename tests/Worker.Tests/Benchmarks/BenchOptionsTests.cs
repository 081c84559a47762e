using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Worker.Benchmarks;
using Worker.Benchmarks.Scenarios;
using Worker.Chain;
using Worker.Hosting;

namespace Worker.Tests.Benchmarks;

/// <summary>The benchmark tool's command line and scenario set (tests/Worker.Benchmarks, ops/bench.sh).</summary>
public sealed class BenchOptionsTests
{
    [Fact]
    public void Every_scenario_name_makes_the_scenario_of_that_name()
    {
        Assert.Equal(BenchOptions.ScenarioNames.Length, BenchOptions.ScenarioNames.Distinct().Count());
        Assert.All(BenchOptions.ScenarioNames, name => Assert.Equal(name, Scenarios.Create(name).Name));
    }

    [Fact]
    public void The_partial_failure_and_healthy_scenarios_are_known_and_flaky_is_gone()
    {
        Assert.Subset(BenchOptions.ScenarioNames.ToHashSet(), new HashSet<string> { "partial-5xx", "partial-429", "partial-both", "partial-junk", "healthy", "outage", "recovery" });

        var refused = Assert.Throws<ArgumentException>(() => BenchOptions.Parse(["--scenario", "flaky"]));
        Assert.StartsWith("Unknown scenario 'flaky'", refused.Message);
    }

    [Fact]
    public void Without_options_every_scenario_runs_at_full_size_into_latest()
    {
        var options = BenchOptions.Parse([]);

        Assert.Equal(BenchOptions.ScenarioNames, options.Scenarios);
        Assert.Equal("latest", options.ReportName);
        Assert.Equal(2_000, options.Sizes.PartialRequests);
        Assert.Equal(5_000, options.Sizes.HealthyRequests);
        Assert.Equal(50, options.Sizes.Concurrency);
    }

    [Fact]
    public void Chosen_scenarios_run_in_the_order_given_into_partial()
    {
        var options = BenchOptions.Parse(["--scenario", "partial-429", "--scenario", "healthy,outage"]);

        Assert.Equal(["partial-429", "healthy", "outage"], options.Scenarios);
        Assert.Equal("partial", options.ReportName);
    }

    [Fact]
    public void Quick_shrinks_the_new_sizes_and_a_size_option_wins_over_it()
    {
        var options = BenchOptions.Parse(["--quick", "--healthy-requests", "3000"]);

        Assert.True(options.Sizes.PartialRequests < new Sizes().PartialRequests);
        Assert.True(options.Sizes.HealthyWarmUpRequests < new Sizes().HealthyWarmUpRequests);
        Assert.Equal(3_000, options.Sizes.HealthyRequests);
        Assert.Equal("partial", options.ReportName);
    }

    [Theory]
    [InlineData("--flaky-requests", "300", "Unknown option '--flaky-requests'")]
    [InlineData("--partial-requests", "0", "--partial-requests must be a positive whole number, was '0'")]
    public void Bad_sizes_are_refused_naming_the_option(string option, string value, string message) =>
        Assert.Equal(message, Assert.Throws<ArgumentException>(() => BenchOptions.Parse([option, value])).Message);

    [Fact]
    public void Usage_lists_every_scenario_and_every_size()
    {
        var usage = BenchOptions.Usage;

        Assert.Contains(string.Join(", ", BenchOptions.ScenarioNames), usage);
        Assert.Contains("--partial-requests 2000", usage);
        Assert.Contains("--healthy-warm-up-requests 1000", usage);
        Assert.DoesNotContain("flaky", usage);
    }

    [Fact]
    public void Each_partial_failure_profile_is_a_valid_share_of_calls()
    {
        Assert.Equal(["partial-5xx", "partial-429", "partial-both", "partial-junk"], PartialFailure.Cases.Select(c => c.Name));
        Assert.All(PartialFailure.Cases, c =>
        {
            Assert.InRange(c.PrimaryRates.Values.Sum(), 0.2, 1.0);
            Assert.InRange(c.FallbackRates.Values.Sum(), 0.0, 1.0);
        });
    }

    [Fact]
    public async Task The_gateway_shaped_chain_overrides_the_shipped_default_chain_step_by_step()
    {
        // As the worker process reads its environment: KEY__SUB becomes KEY:SUB, on top of the shipped appsettings.json.
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:RabbitMq"] = "amqp://guest:guest@localhost:5672/",
            ["ConnectionStrings:Postgres"] = "Host=localhost;Database=llm_worker;Username=worker;Password=worker",
            ["GEMINI_API_KEY"] = "test-gemini-key",
            ["OPENAI_API_KEY"] = "test-openai-key",
        };
        foreach (var (key, value) in PartialFailure.GatewayShapedChain)
            settings[key.Replace("__", ":", StringComparison.Ordinal)] = value;
        await using var app = WorkerApp.Build([], builder => builder.Configuration.AddInMemoryCollection(settings));

        Assert.True(app.Services.GetRequiredService<ChainCatalog>().TryGet(null, out var steps));

        Assert.Collection(steps,
            primary => Assert.Equal(("gemini", 2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), (primary.Provider, primary.MaxRetries, primary.BaseDelay, primary.Timeout)),
            fallback => Assert.Equal(("openai", "o3-mini", 0), (fallback.Provider, fallback.Model, fallback.MaxRetries)));
    }
}
