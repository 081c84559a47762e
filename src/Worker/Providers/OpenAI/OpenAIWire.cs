using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Providers.OpenAI;

// The slice of Chat Completions this worker uses. We (de)serialize it ourselves rather than through the SDK's
// typed models: those throw on any finish_reason outside OpenAI's own list ("eos", "end", "error" from Together,
// LM Studio, OpenRouter...), which would turn a good answer from a compatible server into a failure.

internal sealed class ChatRequest
{
    public required string Model { get; init; }

    public required List<ChatRequestMessage> Messages { get; init; }

    /// <summary>Sent as max_completion_tokens, as the SDK does; o-series models reject the older max_tokens.</summary>
    public int? MaxCompletionTokens { get; init; }

    public double? Temperature { get; init; }
}

internal sealed class ChatRequestMessage
{
    public required string Role { get; init; }

    public required string Content { get; init; }
}

internal sealed class ChatResponse
{
    public string? Model { get; init; }

    public List<ChatChoice>? Choices { get; init; }

    public ChatUsage? Usage { get; init; }
}

internal sealed class ChatChoice
{
    public ChatResponseMessage? Message { get; init; }

    public string? FinishReason { get; init; }
}

internal sealed class ChatResponseMessage
{
    /// <summary>A string from OpenAI; some compatible servers send an array of parts, so it is read loosely.</summary>
    public JsonElement Content { get; init; }

    /// <summary>Set instead of content when the model declines on safety grounds.</summary>
    public string? Refusal { get; init; }
}

internal sealed class ChatUsage
{
    public int? PromptTokens { get; init; }

    public int? CompletionTokens { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ChatRequest))]
[JsonSerializable(typeof(ChatResponse))]
internal sealed partial class OpenAIJsonContext : JsonSerializerContext;
