using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Worker.Audit;

namespace Worker.Tests.Audit;

public class PriceTableTests
{
    private readonly PriceTable _prices = Prices();

    /// <summary>The list prices of the two models the tests use.</summary>
    internal static PriceTable Prices() => new(Options.Create(new PricingOptions
    {
        ["o3-mini"] = new() { InputPerMillion = 1.10m, OutputPerMillion = 4.40m },
        ["gemini-2.5-pro"] = new() { InputPerMillion = 1.25m, OutputPerMillion = 10m },
    }));

    [Fact]
    public void Cost_is_tokens_times_the_price_per_million()
    {
        // 2,000 x 1.25 / 1M + 1,000 x 10 / 1M
        Assert.Equal(0.0125m, _prices.CostOf("gemini-2.5-pro", 2000, 1000));
    }

    [Fact]
    public void Model_names_match_regardless_of_case()
    {
        Assert.Equal(0.0011m, _prices.CostOf("O3-Mini", 1000, 0));
    }

    [Fact]
    public void Unknown_model_has_no_cost()
    {
        Assert.Null(_prices.CostOf("llama-4", 1000, 1000));
    }

    [Fact]
    public void A_call_without_reported_tokens_has_no_cost()
    {
        Assert.Null(_prices.CostOf("o3-mini", null, null));
    }

    [Fact]
    public void Cost_is_rounded_to_the_columns_eight_decimals()
    {
        // 1 x 1.10 / 1M = 0.0000011 exactly; 1 x 4.40 / 3 tokens would not be, so check a repeating case too.
        Assert.Equal(0.0000011m, _prices.CostOf("o3-mini", 1, 0));
        var odd = new PriceTable(Options.Create(new PricingOptions { ["m"] = new() { InputPerMillion = 1m / 3m } }));
        Assert.Equal(0.00000033m, odd.CostOf("m", 1, null));
    }

    [Fact]
    public void The_shipped_appsettings_price_the_default_chain_models()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, "appsettings.json"), optional: false)
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.Section);
        var prices = new PriceTable(services.BuildServiceProvider().GetRequiredService<IOptions<PricingOptions>>());

        foreach (var model in new[] { "gemini-2.5-pro", "gemini-2.5-flash", "o3-mini", "gpt-4o-mini" })
        {
            Assert.True(prices.CostOf(model, 1_000_000, 1_000_000) > 0, $"Pricing:{model} is missing from appsettings.json");
        }
    }

    [Fact]
    public void Negative_prices_are_refused_naming_the_key()
    {
        var result = new PricingOptionsValidator().Validate(null, new PricingOptions { ["o3-mini"] = new() { InputPerMillion = -1 } });

        Assert.True(result.Failed);
        Assert.Contains("Pricing:o3-mini:InputPerMillion", result.FailureMessage);
    }
}
