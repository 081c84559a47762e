using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Worker.Providers.Anthropic;

// The slice of the Messages API this worker uses, (de)serialized by us rather than through the SDK's typed models: the
// request's content blocks are a handful of optional fields here instead of a union type per block, and reading the
// answer ourselves keeps a new stop_reason or content block type (thinking, server tools) from failing a good answer.

internal sealed class MessagesRequest
{
    public required string Model { get; init; }

    /// <summary>Required by the API, unlike OpenAI's and Gemini's limits.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>The system messages, joined; the Messages API has no system role.</summary>
    public string? System { get; init; }

    public required List<MessageParam> Messages { get; init; }

    public double? Temperature { get; init; }

    public List<ToolParam>? Tools { get; init; }

    public ToolChoiceParam? ToolChoice { get; init; }
}

internal sealed class MessageParam
{
    /// <summary>user or assistant: tool results travel in a user turn.</summary>
    public required string Role { get; init; }

    public required List<ContentBlockParam> Content { get; init; }
}

/// <summary>One content block of a request: text, tool_use (in an assistant turn) or tool_result (in a user turn).</summary>
internal sealed class ContentBlockParam
{
    public required string Type { get; init; }

    public string? Text { get; init; }

    public string? Id { get; init; }

    public string? Name { get; init; }

    public JsonElement? Input { get; init; }

    public string? ToolUseId { get; init; }

    /// <summary>A tool_result's content: the tool's output, as text.</summary>
    public string? Content { get; init; }
}

internal sealed class ToolParam
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public required JsonElement InputSchema { get; init; }
}

internal sealed class ToolChoiceParam
{
    /// <summary>auto, any, none or tool.</summary>
    public required string Type { get; init; }

    public string? Name { get; init; }
}

internal sealed class MessagesResponse
{
    public string? Model { get; init; }

    public string? StopReason { get; init; }

    public List<ContentBlock>? Content { get; init; }

    public MessagesUsage? Usage { get; init; }
}

internal sealed class ContentBlock
{
    public string? Type { get; init; }

    public string? Text { get; init; }

    public string? Id { get; init; }

    public string? Name { get; init; }

    public JsonElement Input { get; init; }
}

internal sealed class MessagesUsage
{
    public int? InputTokens { get; init; }

    public int? OutputTokens { get; init; }

    public int? CacheCreationInputTokens { get; init; }

    public int? CacheReadInputTokens { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MessagesRequest))]
[JsonSerializable(typeof(MessagesResponse))]
[JsonSerializable(typeof(JsonObject))]
internal sealed partial class AnthropicJsonContext : JsonSerializerContext;
