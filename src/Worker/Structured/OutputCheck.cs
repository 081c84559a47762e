using System.Text.Json;
using Worker.Contracts;
using Worker.Providers;

namespace Worker.Structured;

/// <summary>
/// Checks a provider's answer against what the request asked for, whichever provider gave it: tool calls must name an
/// offered tool and carry arguments valid against its schema, and a JSON answer must parse (and satisfy the schema). An
/// answer that does not is <see cref="ErrorClass.BadOutput"/>, so the chain gives the step one more call and then falls
/// back, instead of handing a backend a 200 it cannot use.
/// </summary>
public static class OutputCheck
{
    /// <summary>The answer, completed (<see cref="ProviderSuccess.Json"/>, <see cref="ProviderSuccess.Finish"/>), or why it is unusable.</summary>
    public static ProviderResult Check(ProviderRequest request, ProviderSuccess answer)
    {
        var calls = answer.ToolCalls ?? [];
        var mode = request.ToolChoice?.Mode ?? ToolChoiceModes.Auto;
        if (calls.Count > 0)
            return CheckToolCalls(request, answer, calls, mode) is { } problem ? Unusable(answer, problem) : answer with { Finish = FinishReasons.ToolCalls };

        if (request.Tools is { Count: > 0 } && mode is ToolChoiceModes.Required or ToolChoiceModes.Tool)
            return Unusable(answer, mode == ToolChoiceModes.Tool
                ? $"toolChoice requires a call of '{request.ToolChoice!.Name}', and the answer calls no tool"
                : "toolChoice is 'required', and the answer calls no tool");

        if (request.ResponseFormat?.Type is not (ResponseFormatTypes.Json or ResponseFormatTypes.JsonSchema))
            return answer;

        var text = WithoutFence(answer.Text);
        JsonElement json;
        try
        {
            using var document = JsonDocument.Parse(text);
            json = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            var cut = answer.Finish == FinishReasons.Length ? " (cut off at the output limit)" : "";
            return Unusable(answer, $"the answer is not JSON{cut}: {ex.Message}");
        }

        if (request.ResponseFormat is { Type: ResponseFormatTypes.JsonSchema, Schema: { } schema }
            && Schemas.TryBuild(schema, out _) is { } built
            && Schemas.Check(built, json) is { } mismatch)
        {
            return Unusable(answer, $"the JSON answer does not satisfy the schema{Named(request.ResponseFormat.Name)}: {mismatch}");
        }

        return answer with { Text = text, Json = json };
    }

    /// <summary>
    /// The JSON value of a stored answer (a cached one, checked when a provider gave it) for a request that asks for JSON;
    /// null when the request does not, or the text no longer parses.
    /// </summary>
    public static JsonElement? JsonOf(CompletionRequested request, string text)
    {
        if (request.ResponseFormat?.Type is not (ResponseFormatTypes.Json or ResponseFormatTypes.JsonSchema))
            return null;
        try
        {
            using var document = JsonDocument.Parse(WithoutFence(text));
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Whether the request wants something a stored text cannot give: tool calls (a cached answer keeps text only, and
    /// a call is an action to run, not an answer to reuse).
    /// </summary>
    public static bool OffersTools(CompletionRequested request) => request.Tools is { Count: > 0 };

    private static string? CheckToolCalls(ProviderRequest request, ProviderSuccess answer, IReadOnlyList<ToolCall> calls, string mode)
    {
        var tools = request.Tools ?? [];
        if (tools.Count == 0)
            return $"the answer calls tool '{calls[0].Name}', and the request offers no tools";
        if (mode == ToolChoiceModes.None)
            return $"the answer calls tool '{calls[0].Name}', and toolChoice is 'none'";

        foreach (var call in calls)
        {
            var tool = tools.FirstOrDefault(t => string.Equals(t.Name, call.Name, StringComparison.Ordinal));
            if (tool is null)
                return $"the answer calls tool '{call.Name}', which the request does not offer (offered: {string.Join(", ", tools.Select(t => t.Name))})";
            if (mode == ToolChoiceModes.Tool && !string.Equals(call.Name, request.ToolChoice!.Name, StringComparison.Ordinal))
                return $"the answer calls tool '{call.Name}', and toolChoice requires '{request.ToolChoice.Name}'";
            if (string.IsNullOrEmpty(call.Id))
                return $"the call of tool '{call.Name}' has no id";
            if (call.Arguments.ValueKind != JsonValueKind.Object)
                return $"the arguments of tool '{call.Name}' are {Schemas.Describe(call.Arguments.ValueKind)}, not a JSON object";
            if (tool.Parameters is { } parameters && Schemas.TryBuild(parameters, out _) is { } schema
                && Schemas.Check(schema, call.Arguments) is { } mismatch)
                return $"the arguments of tool '{call.Name}' do not satisfy its parameters: {mismatch}";
        }

        return calls.Select(c => c.Id).Distinct(StringComparer.Ordinal).Count() == calls.Count
            ? null
            : "two tool calls of the answer share an id";
    }

    /// <summary>
    /// The text inside one Markdown code fence (<c>```json ... ```</c>), as models without a JSON mode often wrap JSON; the
    /// text itself otherwise.
    /// </summary>
    internal static string WithoutFence(string text)
    {
        var trimmed = text.Trim();
        if (!trimmed.StartsWith("```", StringComparison.Ordinal) || !trimmed.EndsWith("```", StringComparison.Ordinal) || trimmed.Length < 6)
            return text;
        var firstLineEnd = trimmed.IndexOf('\n');
        return firstLineEnd < 0 ? text : trimmed[(firstLineEnd + 1)..^3].Trim();
    }

    private static string Named(string? name) => name is null ? "" : $" '{name}'";

    /// <summary>A bad-output failure that keeps the tokens the call used, so its cost still counts.</summary>
    private static ProviderFailure Unusable(ProviderSuccess answer, string problem) =>
        new(ErrorClass.BadOutput, $"{answer.Model}: {problem}")
        {
            Quota = answer.Quota,
            InputTokens = answer.InputTokens,
            OutputTokens = answer.OutputTokens,
        };
}
