using Worker.Audit;
using Worker.Contracts;
using Worker.Structured;

namespace Worker.Chain;

/// <summary>
/// What a call is expected to cost before it is made: the prompt's tokens estimated at four characters each, the output
/// budget (the request's maxOutputTokens, else <see cref="DefaultOutputTokens"/>), at the model's list price. An upper
/// bound in practice: a model rarely writes its whole budget.
/// </summary>
public sealed class CallCost(PriceTable prices)
{
    /// <summary>The output assumed for a request that sets no maxOutputTokens.</summary>
    public const int DefaultOutputTokens = 1024;

    /// <summary>USD; null when the model has no price (then no budget can judge it, and it is not held back by one).</summary>
    public decimal? Estimate(string model, CompletionRequested request) =>
        prices.CostOf(model, PromptEstimate.Tokens(request), request.MaxOutputTokens ?? DefaultOutputTokens);

    /// <summary>USD of a call that answered, from the tokens the provider reported; 0 for a failed call or an unpriced model.</summary>
    public decimal Actual(string model, int? inputTokens, int? outputTokens) => prices.CostOf(model, inputTokens, outputTokens) ?? 0m;
}
