using Worker.Audit;
using Worker.Contracts;

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
        prices.CostOf(model, PromptTokens(request), request.MaxOutputTokens ?? DefaultOutputTokens);

    /// <summary>USD of a call that answered, from the tokens the provider reported; 0 for a failed call or an unpriced model.</summary>
    public decimal Actual(string model, int? inputTokens, int? outputTokens) => prices.CostOf(model, inputTokens, outputTokens) ?? 0m;

    /// <summary>
    /// The prompt's tokens, estimated at four characters each: the messages' text, the tool calls and results they carry,
    /// the tool definitions and the response schema (providers bill all of them as input). Every estimate of the worker
    /// (budgets, pacing, context windows) uses this one.
    /// </summary>
    public static int PromptTokens(CompletionRequested request)
    {
        long chars = 0;
        foreach (var message in request.Messages)
        {
            chars += message.Content?.Length ?? 0;
            foreach (var call in message.ToolCalls ?? [])
                chars += call.Name.Length + JsonLength(call.Arguments);
        }

        foreach (var tool in request.Tools ?? [])
            chars += tool.Name.Length + (tool.Description?.Length ?? 0) + JsonLength(tool.Parameters);
        chars += JsonLength(request.ResponseFormat?.Schema);
        return (int)Math.Min(int.MaxValue, chars / 4 + 1);
    }

    private static long JsonLength(System.Text.Json.JsonElement? value) =>
        value is { ValueKind: not System.Text.Json.JsonValueKind.Undefined } v ? v.GetRawText().Length : 0;
}
