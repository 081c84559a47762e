using System.Text;
using System.Text.Json;
using Worker.Contracts;

namespace Worker.Providers.Anthropic;

/// <summary>Reads a Messages API answer (a 2xx body) into the contract's terms.</summary>
internal static class AnthropicAnswer
{
    private static readonly JsonElement NoArguments = JsonElement.Parse("{}");

    /// <summary>The stop reasons with a meaning of their own; any other (pause_turn, a new one) reads as stop.</summary>
    public static bool IsKnownStopReason(string? stopReason) =>
        stopReason is "end_turn" or "stop_sequence" or "max_tokens" or "model_context_window_exceeded" or "tool_use" or "refusal";

    /// <param name="answerTool">The tool carrying a JSON answer (<see cref="AnthropicCall.AnswerTool"/>): its input is
    /// returned as the text, not as a tool call.</param>
    public static ProviderResult Read(ReadOnlySpan<byte> body, int status, string requestedModel, string? answerTool, string apiKey)
    {
        MessagesResponse? answer;
        try
        {
            answer = JsonSerializer.Deserialize(body, AnthropicJsonContext.Default.MessagesResponse);
        }
        catch (JsonException ex)
        {
            return BadOutput(status, $"response is not valid Messages API JSON: {ex.Message}", apiKey);
        }

        if (answer is null)
            return BadOutput(status, "response is empty", apiKey);

        var stopReason = answer.StopReason;
        if (stopReason == "refusal")
            return new ProviderFailure(ErrorClass.ContentBlocked, "answer refused by the model's safety classifier (stop_reason refusal)", status);

        var text = new StringBuilder();
        string? json = null;
        List<ToolCall>? calls = null;
        foreach (var block in answer.Content ?? [])
        {
            if (block.Type == "text")
            {
                text.Append(block.Text);
            }
            else if (block.Type == "tool_use" && answerTool is not null && block.Name == answerTool)
            {
                json = block.Input.ValueKind == JsonValueKind.Undefined ? null : block.Input.GetRawText();
            }
            else if (block.Type == "tool_use" && block.Id is { Length: > 0 } id && block.Name is { Length: > 0 } name)
            {
                (calls ??= []).Add(new ToolCall(id, name, block.Input.ValueKind == JsonValueKind.Undefined ? NoArguments : block.Input));
            }

            // Other blocks (thinking, redacted_thinking, server tool results) are the model's own business, not the answer.
        }

        // A JSON answer is the answer tool's input alone: any prose next to it would make it unparseable.
        var answerText = json ?? text.ToString();
        if (string.IsNullOrWhiteSpace(answerText) && calls is null)
        {
            return BadOutput(status, stopReason is "max_tokens" or "model_context_window_exceeded"
                ? $"truncated before any text (stop_reason {stopReason})"
                : $"answer has no text and no tool calls (stop_reason {stopReason ?? "none"})", apiKey);
        }

        var usage = answer.Usage;
        return new ProviderSuccess(
            answerText,
            answer.Model ?? requestedModel,
            usage?.InputTokens is { } input ? input + (usage.CacheCreationInputTokens ?? 0) + (usage.CacheReadInputTokens ?? 0) : null,
            usage?.OutputTokens,
            stopReason)
        {
            ToolCalls = calls,
            Finish = Finish(stopReason, calls is not null),
        };
    }

    /// <summary>
    /// The normalised finish reason. tool_use with only the answer tool called is a finished answer, not a request for
    /// tool results.
    /// </summary>
    private static string? Finish(string? stopReason, bool toolCalls) => stopReason switch
    {
        null => toolCalls ? FinishReasons.ToolCalls : null,
        "max_tokens" or "model_context_window_exceeded" => FinishReasons.Length,
        _ when toolCalls => FinishReasons.ToolCalls,
        _ => FinishReasons.Stop,
    };

    private static ProviderFailure BadOutput(int status, string detail, string apiKey) =>
        new(ErrorClass.BadOutput, FailureText.Safe(detail, apiKey), status);
}
