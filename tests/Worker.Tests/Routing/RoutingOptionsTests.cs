using Microsoft.Extensions.Configuration;
using Worker.Routing;

namespace Worker.Tests.Routing;

public class RoutingOptionsTests
{
    private static IReadOnlyList<string> Problems(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Chains:default:0:Provider"] = "gemini",
            ["Chains:fast:0:Provider"] = "gemini",
        }.Concat(settings).ToDictionary()).Build();
        var options = configuration.GetSection(RoutingOptions.Section).Get<RoutingOptions>() ?? new RoutingOptions();
        var result = new RoutingOptionsValidator(configuration).Validate(null, options);
        return result.Failed ? [.. result.Failures] : [];
    }

    [Fact]
    public void The_shipped_shape_is_valid()
    {
        Assert.Empty(Problems(new() { ["Routing:Routes:trivial"] = "fast", ["Routing:Routes:expert_critical"] = "default", ["Routing:Routes:default"] = "default" }));
    }

    [Fact]
    public void An_unknown_route_key_is_named()
    {
        var problem = Assert.Single(Problems(new() { ["Routing:Routes:trivia"] = "fast" }));
        Assert.StartsWith("Routing:Routes:trivia is not a route key", problem);
        Assert.EndsWith("(env Routing__Routes__trivia)", problem);
    }

    [Fact]
    public void A_route_to_an_unknown_chain_is_named()
    {
        Assert.Equal("Routing:Routes:expert names chain 'strong', which is not configured; configured chains: default, fast (env Routing__Routes__expert)",
            Assert.Single(Problems(new() { ["Routing:Routes:expert"] = "strong" })));
    }

    [Fact]
    public void Weights_out_of_range_all_zero_or_misspelt_are_named()
    {
        var problems = Problems(new()
        {
            ["Routing:Weights:Reliability"] = "0",
            ["Routing:Weights:Latency"] = "0",
            ["Routing:Weights:Availability"] = "0",
            ["Routing:Weights:Latancy"] = "1",
            ["Routing:Margin"] = "2",
        });

        Assert.Contains(problems, p => p.StartsWith("Routing:Weights are all 0", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Routing:Weights:Latancy is not a setting", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.StartsWith("Routing:Margin must be between 0 and 1, was 2", StringComparison.Ordinal));
    }
}
