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

    /// <summary>The older name of the cap, for servers that refuse or ignore max_completion_tokens (see OpenAICompatQuirks).</summary>
    public int? MaxTokens { get; init; }

    public List<ChatTool>? Tools { get; init; }

    public ChatToolChoice? ToolChoice { get; init; }

    public ChatResponseFormat? ResponseFormat { get; init; }
}

internal sealed class ChatRequestMessage
{
    public required string Role { get; init; }

    /// <summary>Null (sent as null, not left out) only on an assistant turn that made tool calls and said nothing.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string? Content { get; init; }

    public List<ChatRequestToolCall>? ToolCalls { get; init; }

    public string? ToolCallId { get; init; }
}

internal sealed class ChatTool
{
    public string Type { get; init; } = "function";

    public required ChatFunction Function { get; init; }
}

internal sealed class ChatFunction
{
    public required string Name { get; init; }

    public string? Description { get; init; }

    public required JsonElement Parameters { get; init; }
}

/// <summary>A tool call of an earlier assistant turn; arguments travel as a string holding JSON.</summary>
internal sealed class ChatRequestToolCall
{
    public required string Id { get; init; }

    public string Type { get; init; } = "function";

    public required ChatRequestFunctionCall Function { get; init; }
}

internal sealed class ChatRequestFunctionCall
{
    public required string Name { get; init; }

    public required string Arguments { get; init; }
}

/// <summary>On the wire a mode string ("auto", "none", "required") or {"type":"function","function":{"name"}}.</summary>
[JsonConverter(typeof(ChatToolChoiceConverter))]
internal sealed record ChatToolChoice(string? Mode, string? FunctionName);

internal sealed class ChatToolChoiceConverter : JsonConverter<ChatToolChoice>
{
    public override ChatToolChoice Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        throw new NotSupportedException("tool_choice is only written");

    public override void Write(Utf8JsonWriter writer, ChatToolChoice value, JsonSerializerOptions options)
    {
        if (value.FunctionName is null)
        {
            writer.WriteStringValue(value.Mode);
            return;
        }

        writer.WriteStartObject();
        writer.WriteString("type", "function");
        writer.WriteStartObject("function");
        writer.WriteString("name", value.FunctionName);
        writer.WriteEndObject();
        writer.WriteEndObject();
    }
}

internal sealed class ChatResponseFormat
{
    /// <summary>json_object or json_schema.</summary>
    public required string Type { get; init; }

    public ChatJsonSchema? JsonSchema { get; init; }
}

internal sealed class ChatJsonSchema
{
    public required string Name { get; init; }

    public JsonElement? Schema { get; init; }

    public bool? Strict { get; init; }
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

    public List<ChatResponseToolCall>? ToolCalls { get; init; }
}

internal sealed class ChatResponseToolCall
{
    /// <summary>Some compatible servers send none (or an empty one); the provider makes one up then.</summary>
    public string? Id { get; init; }

    public ChatResponseFunctionCall? Function { get; init; }
}

internal sealed class ChatResponseFunctionCall
{
    public string? Name { get; init; }

    /// <summary>A string holding JSON from OpenAI; some compatible servers send the object itself, so it is read loosely.</summary>
    public JsonElement Arguments { get; init; }
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
