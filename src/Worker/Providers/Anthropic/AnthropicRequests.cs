using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Contracts;

namespace Worker.Providers.Anthropic;

/// <summary>A Messages API body, and the name of the tool that carries a JSON answer (null when none was asked for).</summary>
internal sealed record AnthropicCall(MessagesRequest Body, string? AnswerTool);

/// <summary>
/// Translates the contract's request into a Messages API body. The API differs from the contract in ways that would
/// otherwise be 400s: no system role, strict user/assistant alternation, tool results inside a user turn, tool ids limited
/// to <c>[a-zA-Z0-9_-]</c>, a required max_tokens, temperature only up to 1, and no JSON mode (a forced tool stands in).
/// </summary>
internal static class AnthropicRequests
{
    /// <summary>
    /// max_tokens when the request sets none (the API requires one). 4,096 is within every Claude model's output limit
    /// (Claude 3 Haiku's is exactly that), so no model rejects it, and it is a long answer for chat and SDR work.
    /// </summary>
    public const int DefaultMaxTokens = 4096;

    /// <summary>The JSON answer tool's name when the response format names none, or names one of the request's tools.</summary>
    public const string DefaultAnswerTool = "json_answer";

    /// <summary>The highest temperature the Messages API accepts; the contract allows up to 2.</summary>
    public const double MaxTemperature = 1.0;

    private const string AnswerToolDescription =
        "Give your final answer by calling this tool. Its input is the answer itself, in the required shape; it performs no action.";

    private static readonly JsonElement NoParameters = JsonElement.Parse("""{"type":"object","properties":{}}""");

    // The response format "json" asks for any JSON; a tool's input must be an object, so the answer is an object.
    private static readonly JsonElement AnyObject = JsonElement.Parse("""{"type":"object"}""");

    /// <summary>Why the request cannot be put to the Messages API, or null when it can.</summary>
    public static string? CannotServe(ProviderRequest request)
    {
        foreach (var message in request.Messages)
        {
            if (!Is(message, ChatRoles.System) && !Is(message, ChatRoles.User) && !Is(message, ChatRoles.Assistant) && !Is(message, ChatRoles.Tool))
                return $"message role '{message.Role}' is not one of system, user, assistant, tool";
            if (Is(message, ChatRoles.Tool) && string.IsNullOrEmpty(message.ToolCallId))
                return "a tool message has no toolCallId";
        }

        if (request.ToolChoice is { } choice
            && choice.Mode is not (ToolChoiceModes.Auto or ToolChoiceModes.None or ToolChoiceModes.Required or ToolChoiceModes.Tool))
            return $"tool choice '{choice.Mode}' is not one of auto, none, required, tool";

        return request.ResponseFormat switch
        {
            null or { Type: ResponseFormatTypes.Text or ResponseFormatTypes.Json } => null,
            { Type: ResponseFormatTypes.JsonSchema } format => AnswerSchema(format) is null
                ? "a json_schema answer must be a JSON object (schema type \"object\"): Anthropic returns it as a tool's input"
                : null,
            { Type: var type } => $"response format '{type}' is not one of text, json, json_schema",
        };
    }

    /// <summary>The body for <paramref name="request"/>, which <see cref="CannotServe"/> accepted.</summary>
    /// <param name="temperature">The request's temperature, already brought within the API's range.</param>
    public static AnthropicCall Build(ProviderRequest request, double? temperature)
    {
        var system = new List<string>();
        var turns = new List<MessageParam>();
        foreach (var message in request.Messages)
        {
            if (Is(message, ChatRoles.System))
            {
                if (!string.IsNullOrWhiteSpace(message.Content))
                    system.Add(message.Content);
            }
            else if (Is(message, ChatRoles.Tool))
            {
                Append(turns, "user", [new ContentBlockParam
                {
                    Type = "tool_result",
                    ToolUseId = ToolId(message.ToolCallId!),
                    Content = string.IsNullOrEmpty(message.Content) ? null : message.Content,
                }]);
            }
            else
            {
                var assistant = Is(message, ChatRoles.Assistant);
                var blocks = new List<ContentBlockParam>();
                // The API rejects empty and blank text blocks; an assistant turn with only tool calls has none.
                if (!string.IsNullOrWhiteSpace(message.Content))
                    blocks.Add(new ContentBlockParam { Type = "text", Text = message.Content });
                if (assistant)
                {
                    foreach (var call in message.ToolCalls ?? [])
                    {
                        blocks.Add(new ContentBlockParam
                        {
                            Type = "tool_use",
                            Id = ToolId(call.Id),
                            Name = call.Name,
                            Input = call.Arguments.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? ToolCallParts.EmptyArguments : call.Arguments,
                        });
                    }
                }

                Append(turns, assistant ? "assistant" : "user", blocks);
            }
        }

        var tools = request.Tools is { Count: > 0 } given
            ? given.Select(t => new ToolParam
            {
                Name = t.Name,
                Description = t.Description,
                InputSchema = t.Parameters is { ValueKind: JsonValueKind.Object } schema ? schema : NoParameters,
            }).ToList()
            : null;
        var answerTool = AddAnswerTool(request, ref tools);

        return new AnthropicCall(new MessagesRequest
        {
            Model = request.Model,
            MaxTokens = request.MaxOutputTokens ?? DefaultMaxTokens,
            System = system.Count > 0 ? string.Join("\n\n", system) : null,
            Messages = turns,
            Temperature = temperature,
            Tools = tools,
            ToolChoice = Choice(request, answerTool),
        }, answerTool);
    }

    /// <summary>
    /// A tool call id as Anthropic accepts it (<c>^[a-zA-Z0-9_-]+$</c>). Ids that already match, Anthropic's own among
    /// them, pass unchanged; others get their other characters replaced and a hash of the original appended, so the
    /// mapping is the same in tool_use and tool_result and two ids that differ only in such characters stay apart.
    /// </summary>
    public static string ToolId(string id)
    {
        if (id.Length > 0 && id.All(IsIdChar))
            return id;

        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(id)))[..12];
        var kept = string.Concat(id.Select(c => IsIdChar(c) ? c : '_'));
        return kept.Length > 0 ? $"{kept}_{hash}" : $"id_{hash}";
    }

    /// <summary>
    /// The Messages API has no JSON mode, so a JSON answer is asked for as the input of a tool that exists only for
    /// that (the approach Anthropic documents for JSON output): its input schema is the requested schema, and the answer
    /// comes back as that tool's input, which the API has already parsed as JSON.
    /// </summary>
    private static string? AddAnswerTool(ProviderRequest request, ref List<ToolParam>? tools)
    {
        if (request.ResponseFormat is not { Type: ResponseFormatTypes.Json or ResponseFormatTypes.JsonSchema } format
            || AnswerSchema(format) is not { } schema)
            return null;

        var taken = tools?.Select(t => t.Name).ToHashSet(StringComparer.Ordinal) ?? [];
        var name = format.Name is { Length: > 0 and <= 64 } wanted && wanted.All(IsIdChar) && !taken.Contains(wanted)
            ? wanted
            : DefaultAnswerTool;
        (tools ??= []).Add(new ToolParam { Name = name, Description = AnswerToolDescription, InputSchema = schema });
        return name;
    }

    /// <summary>
    /// Without an answer tool, the contract's choice maps one to one (required is Anthropic's <c>any</c>). With one, the
    /// answer must come through a tool: forced when it is the only tool the model may use, else <c>any</c>, which keeps
    /// the request's own tools available but rules out a free-text answer that could not be JSON.
    /// </summary>
    private static ToolChoiceParam? Choice(ProviderRequest request, string? answerTool)
    {
        var mode = request.ToolChoice?.Mode;
        var hasOwnTools = request.Tools is { Count: > 0 };
        if (answerTool is not null)
        {
            return !hasOwnTools || mode == ToolChoiceModes.None
                ? new ToolChoiceParam { Type = "tool", Name = answerTool }
                : mode == ToolChoiceModes.Tool
                    ? new ToolChoiceParam { Type = "tool", Name = request.ToolChoice!.Name }
                    : new ToolChoiceParam { Type = "any" };
        }

        if (!hasOwnTools)
            return null;

        return mode switch
        {
            ToolChoiceModes.None => new ToolChoiceParam { Type = "none" },
            ToolChoiceModes.Required => new ToolChoiceParam { Type = "any" },
            ToolChoiceModes.Tool => new ToolChoiceParam { Type = "tool", Name = request.ToolChoice!.Name },
            _ => new ToolChoiceParam { Type = "auto" },
        };
    }

    /// <summary>
    /// The answer tool's input schema: an open object for <c>json</c>, the requested schema for <c>json_schema</c> (given
    /// <c>"type": "object"</c> when it names no type, as the API requires). Null when the schema asks for something other
    /// than an object, which a tool's input cannot be.
    /// </summary>
    private static JsonElement? AnswerSchema(ResponseFormat format)
    {
        if (format.Type != ResponseFormatTypes.JsonSchema || format.Schema is not { ValueKind: JsonValueKind.Object } schema)
            return AnyObject;

        if (!schema.TryGetProperty("type", out var type))
        {
            var withType = JsonNode.Parse(schema.GetRawText())!.AsObject();
            withType.Insert(0, "type", "object");
            return JsonSerializer.SerializeToElement(withType, AnthropicJsonContext.Default.JsonObject);
        }

        return type.ValueKind == JsonValueKind.String && type.ValueEquals("object") ? schema : null;
    }

    /// <summary>
    /// Adds a turn, merged into the previous one when the role is the same: the API requires strict alternation, and all
    /// the results of one assistant turn's tool calls in one user turn, ahead of any text.
    /// </summary>
    private static void Append(List<MessageParam> turns, string role, List<ContentBlockParam> blocks)
    {
        if (blocks.Count == 0)
            return;

        if (turns.Count == 0 || turns[^1].Role != role)
        {
            turns.Add(new MessageParam { Role = role, Content = blocks });
            return;
        }

        var content = turns[^1].Content;
        foreach (var block in blocks)
        {
            if (block.Type == "tool_result")
                content.Insert(content.TakeWhile(b => b.Type == "tool_result").Count(), block);
            else
                content.Add(block);
        }
    }

    private static bool IsIdChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '-';

    private static bool Is(ChatMessage message, string role) => string.Equals(message.Role, role, StringComparison.OrdinalIgnoreCase);
}
