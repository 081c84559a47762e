using System.Text.Json;
using System.Text.RegularExpressions;
using Worker.Contracts;

namespace Worker.Structured;

/// <summary>
/// The request checks of tools, tool turns and response formats: what every provider needs for a tool conversation to
/// be sent to it, and schemas that are JSON Schemas at all. Part of <c>RequestValidator</c>; each message names the field
/// in its wire form.
/// </summary>
public static partial class StructureRules
{
    /// <summary>The most tools one request may offer (OpenAI's limit, the lowest of the providers).</summary>
    public const int MaxTools = 128;

    /// <summary>The longest tool call id accepted; ids are echoed to providers, some of which cap them.</summary>
    public const int MaxToolCallIdChars = 64;

    /// <returns>null when the request's tool and format fields are valid, else the first problem found.</returns>
    public static string? Validate(CompletionRequested request)
    {
        return ToolsProblem(request.Tools)
            ?? ToolChoiceProblem(request.ToolChoice, request.Tools)
            ?? ToolTurnsProblem(request)
            ?? FormatProblem(request.ResponseFormat);
    }

    private static string? ToolsProblem(IReadOnlyList<ToolDefinition>? tools)
    {
        if (tools is null)
            return null;
        if (tools.Count > MaxTools)
            return $"tools has {tools.Count} entries; the limit is {MaxTools}";
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < tools.Count; i++)
        {
            var tool = tools[i];
            if (tool is null)
                return $"tools[{i}] is null";
            if (tool.Name is null || !ToolName().IsMatch(tool.Name))
                return $"tools[{i}].name '{tool.Name}' must be 1 to 64 letters, digits, '_' or '-'";
            if (!names.Add(tool.Name))
                return $"tools[{i}].name '{tool.Name}' is offered twice";
            if (tool.Parameters is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) } parameters)
            {
                if (parameters.ValueKind != JsonValueKind.Object)
                    return $"tools[{i}].parameters must be a JSON Schema object, not {Schemas.Describe(parameters.ValueKind)}";
                if (parameters.TryGetProperty("type", out var type) && !type.ValueEquals("object"))
                    return $"tools[{i}].parameters must describe an object (\"type\": \"object\"), not {type.GetRawText()}";
                if (Schemas.TryBuild(parameters, out var problem) is null)
                    return $"tools[{i}].parameters is not a valid JSON Schema: {problem}";
            }
        }

        return null;
    }

    private static string? ToolChoiceProblem(ToolChoice? choice, IReadOnlyList<ToolDefinition>? tools)
    {
        if (choice is null)
            return null;
        switch (choice.Mode)
        {
            case ToolChoiceModes.Auto or ToolChoiceModes.None:
                return null;
            case ToolChoiceModes.Required:
                return tools is { Count: > 0 } ? null : "toolChoice is 'required', and tools is empty";
            case ToolChoiceModes.Tool:
                if (string.IsNullOrEmpty(choice.Name))
                    return "toolChoice names no tool; use {\"name\": \"...\"} or one of auto, none, required";
                return tools?.Any(t => t?.Name == choice.Name) == true
                    ? null
                    : $"toolChoice names '{choice.Name}', which tools does not offer";
            default:
                return $"toolChoice '{choice.Mode}' is not one of auto, none, required, or {{\"name\": \"...\"}}";
        }
    }

    /// <summary>
    /// Tool turns: calls only on assistant messages, each with an id, a name and an object of arguments; every tool
    /// message answers a call made earlier in the conversation. Anthropic refuses tool turns in a request that defines no
    /// tools, so a conversation with them must keep offering the tools.
    /// </summary>
    private static string? ToolTurnsProblem(CompletionRequested request)
    {
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var hasToolTurns = false;
        for (var i = 0; i < request.Messages.Count; i++)
        {
            var message = request.Messages[i];
            if (message.ToolCalls is { } toolCalls)
            {
                if (message.Role != ChatRoles.Assistant)
                    return $"messages[{i}].toolCalls is only allowed on an assistant message, not on role '{message.Role}'";
                for (var c = 0; c < toolCalls.Count; c++)
                {
                    var call = toolCalls[c];
                    var at = $"messages[{i}].toolCalls[{c}]";
                    if (call is null)
                        return $"{at} is null";
                    if (string.IsNullOrWhiteSpace(call.Id) || call.Id.Length > MaxToolCallIdChars)
                        return $"{at}.id must be 1 to {MaxToolCallIdChars} characters";
                    if (string.IsNullOrWhiteSpace(call.Name))
                        return $"{at}.name is empty";
                    if (call.Arguments.ValueKind != JsonValueKind.Object)
                        return $"{at}.arguments must be a JSON object, not {Schemas.Describe(call.Arguments.ValueKind)}";
                    if (!calls.Add(call.Id))
                        return $"{at}.id '{call.Id}' is used by an earlier tool call";
                }

                hasToolTurns |= toolCalls.Count > 0;
            }

            if (message.Role == ChatRoles.Tool)
            {
                hasToolTurns = true;
                if (string.IsNullOrEmpty(message.ToolCallId))
                    return $"messages[{i}].toolCallId is missing: a tool message answers one tool call by its id";
                if (!calls.Contains(message.ToolCallId))
                    return $"messages[{i}].toolCallId '{message.ToolCallId}' answers no tool call of an earlier assistant message";
            }
            else if (message.ToolCallId is not null)
            {
                return $"messages[{i}].toolCallId is only allowed on a tool message, not on role '{message.Role}'";
            }
        }

        return hasToolTurns && request.Tools is not { Count: > 0 }
            ? "messages carry tool calls or tool results, so tools must list the tools (providers such as Anthropic refuse tool turns without them)"
            : null;
    }

    private static string? FormatProblem(ResponseFormat? format)
    {
        if (format is null)
            return null;
        switch (format.Type)
        {
            case ResponseFormatTypes.Text or ResponseFormatTypes.Json:
                return format.Schema is { ValueKind: not (JsonValueKind.Undefined or JsonValueKind.Null) }
                    ? $"responseFormat.schema is only used with type json_schema, not '{format.Type}'"
                    : null;
            case ResponseFormatTypes.JsonSchema:
                if (format.Schema is not { ValueKind: JsonValueKind.Object } schema)
                    return "responseFormat.schema must be a JSON Schema object for type json_schema";
                if (format.Name is { } name && !ToolName().IsMatch(name))
                    return $"responseFormat.name '{name}' must be 1 to 64 letters, digits, '_' or '-'";
                return Schemas.TryBuild(schema, out var problem) is null ? $"responseFormat.schema is not a valid JSON Schema: {problem}" : null;
            default:
                return $"responseFormat.type '{format.Type}' is not one of text, json, json_schema";
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,64}$")]
    private static partial Regex ToolName();
}
