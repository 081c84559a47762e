using System.Text.Json;
using System.Text.RegularExpressions;
using Worker.Simulator.Calls;

namespace Worker.Simulator.OpenAI;

/// <summary>
/// OpenAI-compatible providers as the target name picks them, so a worker preset can be tested end to end against the
/// quirk its clients must handle. <c>mistral</c> enforces Mistral's tool-call-id rule; <c>groq</c> answers a botched tool
/// call with its 400 tool_use_failed; <c>ollama</c> needs no key, as a local Ollama server asks for none; every other
/// target (<c>openai</c>, <c>openrouter</c>, <c>vllm</c>, ...) is plain OpenAI. Only quirks a client must handle are
/// simulated: none is invented.
/// </summary>
internal static partial class OpenAIFlavour
{
    private const string Mistral = "mistral";
    private const string Ollama = "ollama";
    private const string Groq = "groq";

    /// <summary>The target answers calls without an Authorization header.</summary>
    public static bool KeyOptional(string target) => target.Equals(Ollama, StringComparison.OrdinalIgnoreCase);

    /// <summary>A new tool call id: Mistral's nine alphanumerics, else OpenAI's <c>call_</c> and 24 of them.</summary>
    public static string ToolCallId(string target) =>
        IsMistral(target) ? Reply.RandomId(9) : "call_" + Reply.RandomId(24);

    /// <summary>
    /// Mistral's 400 for an id that another provider minted (OpenAI's <c>call_...</c>): every tool_calls id and
    /// tool_call_id in the conversation must be nine letters or digits. A worker that fails over to Mistral mid tool loop
    /// must rewrite them. Null when the target is not Mistral or every id passes.
    /// </summary>
    public static IResult? RejectToolCallIds(string target, JsonElement messages)
    {
        if (!IsMistral(target))
            return null;
        foreach (var id in ToolCallIds(messages))
        {
            if (id is null || !MistralId().IsMatch(id))
            {
                return WireJson.Body(new()
                {
                    ["object"] = "error",
                    ["message"] = $"Tool call id was {id} but must be a-z, A-Z, 0-9, with a length of 9.",
                    ["type"] = "invalid_request_error",
                    ["param"] = null,
                    ["code"] = null,
                }, "application/json", StatusCodes.Status400BadRequest);
            }
        }
        return null;
    }

    /// <summary>
    /// Groq validates the model's tool call before answering and turns a botched one into an HTTP 400 with code
    /// tool_use_failed and the raw output in failed_generation, where OpenAI answers 200 with unparsable arguments. A
    /// client must not take this 400 for its own mistake: the same request can succeed when sent again. As reported
    /// verbatim in agno-agi/agno#4090, huggingface/smolagents#1119 and sipeed/picoclaw#748. Null for other targets.
    /// </summary>
    public static IResult? ToolUseFailed(string target, string failedGeneration) =>
        !target.Equals(Groq, StringComparison.OrdinalIgnoreCase) ? null
        : OpenAIWire.Error(400, "Failed to call a function. Please adjust your prompt. See 'failed_generation' for more details.",
            "invalid_request_error", null, "tool_use_failed", extra: ("failed_generation", failedGeneration));

    private static bool IsMistral(string target) => target.Equals(Mistral, StringComparison.OrdinalIgnoreCase);

    private static IEnumerable<string?> ToolCallIds(JsonElement messages)
    {
        foreach (var message in messages.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
                continue;
            if (message.TryGetProperty("tool_call_id", out var resultId))
                yield return resultId.ValueKind == JsonValueKind.String ? resultId.GetString() : resultId.GetRawText();
            if (!message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
                continue;
            foreach (var call in calls.EnumerateArray())
            {
                if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("id", out var id))
                    yield return id.ValueKind == JsonValueKind.String ? id.GetString() : id.GetRawText();
            }
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9]{9}$")]
    private static partial Regex MistralId();
}
