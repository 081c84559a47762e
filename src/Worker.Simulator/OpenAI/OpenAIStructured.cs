using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Structured;

namespace Worker.Simulator.OpenAI;

/// <summary>Reads the tools, tool_choice and response_format of a chat completions request.</summary>
internal static class OpenAIStructured
{
    /// <param name="afterToolResult">The last message has role <c>tool</c>.</param>
    public static StructuredAsk Read(JsonElement root, bool afterToolResult)
    {
        var tools = new List<OfferedTool>();
        if (root.TryGetProperty("tools", out var offered) && offered.ValueKind == JsonValueKind.Array)
        {
            foreach (var tool in offered.EnumerateArray())
            {
                if (tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("function", out var function) && function.ValueKind == JsonValueKind.Object
                    && function.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String)
                {
                    tools.Add(new OfferedTool(name.GetString()!, function.TryGetProperty("parameters", out var parameters) ? JsonNode.Parse(parameters.GetRawText()) : null));
                }
            }
        }

        // tool_choice: "none" | "auto" | "required" | {"type": "function", "function": {"name": ...}}.
        var choice = root.TryGetProperty("tool_choice", out var c) ? c : default;
        var disabled = choice.ValueKind == JsonValueKind.String && choice.ValueEquals("none");
        var forced = choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString() : null;

        // response_format: {"type": "json_schema", "json_schema": {"name", "schema", "strict"}} | {"type": "json_object"} | {"type": "text"}.
        var wantsJson = false;
        JsonNode? schema = null;
        if (root.TryGetProperty("response_format", out var format) && format.ValueKind == JsonValueKind.Object && format.TryGetProperty("type", out var type)
            && type.ValueKind == JsonValueKind.String)
        {
            wantsJson = type.ValueEquals("json_schema") || type.ValueEquals("json_object");
            if (type.ValueEquals("json_schema") && format.TryGetProperty("json_schema", out var named) && named.ValueKind == JsonValueKind.Object
                && named.TryGetProperty("schema", out var s))
                schema = JsonNode.Parse(s.GetRawText());
        }

        var required = choice.ValueKind == JsonValueKind.String && choice.ValueEquals("required");
        var called = new HashSet<string>(StringComparer.Ordinal);
        if (root.TryGetProperty("messages", out var messages) && messages.ValueKind == JsonValueKind.Array)
        {
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("tool_calls", out var calls) || calls.ValueKind != JsonValueKind.Array)
                    continue;
                foreach (var call in calls.EnumerateArray())
                {
                    if (call.ValueKind == JsonValueKind.Object && call.TryGetProperty("function", out var fn) && fn.ValueKind == JsonValueKind.Object
                        && fn.TryGetProperty("name", out var callName) && callName.ValueKind == JsonValueKind.String)
                        called.Add(callName.GetString()!);
                }
            }
        }

        return new StructuredAsk(tools, disabled, forced, afterToolResult, wantsJson, schema, required, called);
    }
}
