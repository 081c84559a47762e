using System.Text.Json;
using System.Text.Json.Serialization;

namespace Worker.Contracts;

/// <summary>A tool the model may call (a function of the backend's: look up a lead, book a meeting).</summary>
/// <param name="Name">The tool's name: letters, digits, <c>_</c> and <c>-</c>, at most 64 characters (the common subset of
/// every provider's rule).</param>
/// <param name="Description">What the tool does and when to use it; the model reads it.</param>
/// <param name="Parameters">A JSON Schema of the arguments object (<c>{"type": "object", "properties": {...}}</c>); null for
/// a tool without arguments. Every call's arguments are checked against it before the answer is accepted.</param>
public sealed record ToolDefinition(string Name, string? Description = null, JsonElement? Parameters = null);

/// <summary>A call of a tool, as the model asked for it (in a result) or as an earlier turn made it (in a request).</summary>
/// <param name="Id">The call's id. A <c>tool</c> message answers it by <see cref="ChatMessage.ToolCallId"/>. The worker
/// passes ids through, whichever provider made them, and maps them for a provider that needs another form.</param>
/// <param name="Name">The tool called: one of the request's <see cref="CompletionRequested.Tools"/>.</param>
/// <param name="Arguments">The arguments, a JSON object valid against the tool's <see cref="ToolDefinition.Parameters"/>.</param>
public sealed record ToolCall(string Id, string Name, JsonElement Arguments);

/// <summary>
/// Whether and which tool the model must call. On the wire a string, <c>"auto"</c>, <c>"none"</c> or <c>"required"</c>, or an
/// object naming one tool, <c>{"name": "book_meeting"}</c>.
/// </summary>
/// <param name="Mode">One of <see cref="ToolChoiceModes"/>.</param>
/// <param name="Name">For <see cref="ToolChoiceModes.Tool"/>: the tool that must be called.</param>
[JsonConverter(typeof(ToolChoiceJsonConverter))]
public sealed record ToolChoice(string Mode, string? Name = null)
{
    /// <summary>The model decides (the default when tools are given).</summary>
    public static ToolChoice Auto { get; } = new(ToolChoiceModes.Auto);

    /// <summary>The model must not call a tool.</summary>
    public static ToolChoice None { get; } = new(ToolChoiceModes.None);

    /// <summary>The model must call at least one tool.</summary>
    public static ToolChoice Required { get; } = new(ToolChoiceModes.Required);

    /// <summary>The model must call <paramref name="name"/>.</summary>
    public static ToolChoice Tool(string name) => new(ToolChoiceModes.Tool, name);
}

/// <summary>The values of <see cref="ToolChoice.Mode"/>.</summary>
public static class ToolChoiceModes
{
    /// <summary>The model decides.</summary>
    public const string Auto = "auto";

    /// <summary>No tool call.</summary>
    public const string None = "none";

    /// <summary>At least one tool call.</summary>
    public const string Required = "required";

    /// <summary>A call of the tool named by <see cref="ToolChoice.Name"/> (the wire's object form).</summary>
    public const string Tool = "tool";
}

/// <summary>Reads and writes <see cref="ToolChoice"/> in its wire forms: a mode string, or <c>{"name": "..."}</c>.</summary>
public sealed class ToolChoiceJsonConverter : JsonConverter<ToolChoice>
{
    /// <inheritdoc />
    public override ToolChoice? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null:
                return null;
            case JsonTokenType.String:
                // Unknown modes are kept as given, so the validator can name them instead of a serializer error.
                return new ToolChoice(reader.GetString()!);
            case JsonTokenType.StartObject:
                string? name = null;
                string? type = null;
                using (var document = JsonDocument.ParseValue(ref reader))
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        if (property.NameEquals("name") && property.Value.ValueKind == JsonValueKind.String)
                            name = property.Value.GetString();
                        else if (property.NameEquals("type") && property.Value.ValueKind == JsonValueKind.String)
                            type = property.Value.GetString();
                    }
                }

                // {"type": "required"} is read like "required"; anything else with a name is a forced tool.
                return name is null && type is not null ? new ToolChoice(type) : new ToolChoice(ToolChoiceModes.Tool, name);
            default:
                throw new JsonException($"toolChoice must be a string or an object, not {reader.TokenType}");
        }
    }

    /// <inheritdoc />
    public override void Write(Utf8JsonWriter writer, ToolChoice value, JsonSerializerOptions options)
    {
        if (value.Mode == ToolChoiceModes.Tool)
        {
            writer.WriteStartObject();
            writer.WriteString("name", value.Name);
            writer.WriteEndObject();
        }
        else
        {
            writer.WriteStringValue(value.Mode);
        }
    }
}

/// <summary>Asks for JSON instead of free text.</summary>
/// <param name="Type">One of <see cref="ResponseFormatTypes"/>.</param>
/// <param name="Name">For <c>json_schema</c>: the schema's name (letters, digits, <c>_</c>, <c>-</c>; some providers require one).</param>
/// <param name="Schema">For <c>json_schema</c>: the JSON Schema the answer must satisfy. The answer is checked against it
/// whichever provider gave it; one that does not satisfy it is <c>bad_output</c> and falls back.</param>
/// <param name="Strict">For <c>json_schema</c>: ask providers that support it to decode strictly (OpenAI <c>strict</c>).
/// The worker's own check applies either way.</param>
public sealed record ResponseFormat(string Type, string? Name = null, JsonElement? Schema = null, bool? Strict = null);

/// <summary>The values of <see cref="ResponseFormat.Type"/>.</summary>
public static class ResponseFormatTypes
{
    /// <summary>Free text (the same as no response format).</summary>
    public const string Text = "text";

    /// <summary>Any JSON value; the answer must parse.</summary>
    public const string Json = "json";

    /// <summary>JSON satisfying <see cref="ResponseFormat.Schema"/>.</summary>
    public const string JsonSchema = "json_schema";
}

/// <summary>The normalised values of <see cref="CompletionSucceeded.FinishReason"/>, whichever provider answered.</summary>
public static class FinishReasons
{
    /// <summary>The model finished its answer.</summary>
    public const string Stop = "stop";

    /// <summary>The answer was cut at <c>maxOutputTokens</c> (or the model's own limit).</summary>
    public const string Length = "length";

    /// <summary>The model asked for tool calls (<see cref="CompletionSucceeded.ToolCalls"/>) and waits for their results.</summary>
    public const string ToolCalls = "tool_calls";

    /// <summary>The provider's filter cut the answer short.</summary>
    public const string ContentFilter = "content_filter";
}
