using Microsoft.Extensions.Options;

namespace Worker.Audit;

/// <summary>
/// The <c>Pricing</c> section: model name to list price in USD per million tokens, e.g.
/// <c>Pricing:gemini-2.5-pro:InputPerMillion</c> (env <c>Pricing__gemini-2.5-pro__InputPerMillion</c>).
/// </summary>
public sealed class PricingOptions : Dictionary<string, ModelPrice>
{
    public const string Section = "Pricing";

    public PricingOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>What one model costs, in USD per million tokens.</summary>
public sealed class ModelPrice
{
    /// <summary>USD per million prompt tokens.</summary>
    public decimal InputPerMillion { get; set; }

    /// <summary>USD per million generated tokens.</summary>
    public decimal OutputPerMillion { get; set; }
}

/// <summary>Estimates what a call cost from the configured prices. An estimate: providers bill tiers and caching we do not see.</summary>
public sealed class PriceTable(IOptions<PricingOptions> pricing)
{
    private const decimal Million = 1_000_000m;

    /// <returns>USD, rounded to the column's 8 decimals; null when the model has no price or no token was reported.</returns>
    public decimal? CostOf(string model, int? inputTokens, int? outputTokens)
    {
        if (inputTokens is null && outputTokens is null || !pricing.Value.TryGetValue(model, out var price))
        {
            return null;
        }

        var cost = (inputTokens ?? 0) * price.InputPerMillion / Million + (outputTokens ?? 0) * price.OutputPerMillion / Million;
        return Math.Round(cost, 8, MidpointRounding.AwayFromZero);
    }
}

/// <summary>Checks the <c>Pricing</c> section at start; every message names the key to fix.</summary>
public sealed class PricingOptionsValidator : IValidateOptions<PricingOptions>
{
    public ValidateOptionsResult Validate(string? name, PricingOptions options)
    {
        var errors = new List<string>();
        foreach (var (model, price) in options)
        {
            if (price is null)
            {
                errors.Add($"Pricing:{model} has no prices (InputPerMillion, OutputPerMillion)");
                continue;
            }

            if (price.InputPerMillion < 0)
            {
                errors.Add($"Pricing:{model}:InputPerMillion must be 0 or more, was {price.InputPerMillion}");
            }

            if (price.OutputPerMillion < 0)
            {
                errors.Add($"Pricing:{model}:OutputPerMillion must be 0 or more, was {price.OutputPerMillion}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
