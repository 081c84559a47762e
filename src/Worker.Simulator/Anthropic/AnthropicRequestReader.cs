using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Calls;
using Worker.Simulator.Structured;

namespace Worker.Simulator.Anthropic;

/// <summary>A parsed Messages request: only what the replies need.</summary>
/// <param name="LastUserText">The text of the last user message that has text (a message of tool results only is not a prompt).</param>
/// <param name="Ask">The tools (and output_config JSON format) the request asks for.</param>
internal sealed record AnthropicRequest(string Model, string LastUserText, int PromptWords, int MaxTokens, StructuredAsk Ask);

/// <summary>
/// Reads and validates a Messages request as strictly as the real API where it matters to a client: max_tokens is
/// required, roles alternate user/assistant starting with user, and tool_use and tool_result blocks pair up between
/// consecutive messages. The messages name the offending field the way Anthropic does.
/// </summary>
internal static class AnthropicRequestReader
{
    public static async Task<(AnthropicRequest? Request, string? Model, string? Error)> ReadAsync(HttpContext context)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
        }
        catch (JsonException)
        {
            return (null, null, "There was an issue with the format of your request: the body is not valid JSON.");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                return (null, null, "Input should be an object.");
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
            return (Parse(root, model, out var error), model, error);
        }
    }

    private static AnthropicRequest? Parse(JsonElement root, string? model, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(model))
            error = "model: Field required";
        else if (!root.TryGetProperty("max_tokens", out var max) || max.ValueKind != JsonValueKind.Number || !max.TryGetInt32(out _))
            error = "max_tokens: Field required";
        else if (!root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
            error = "messages: Field required";
        else if (root.TryGetProperty("stream", out var stream) && stream.ValueKind == JsonValueKind.True)
            error = "stream: the simulator does not support streaming";
        else if (Tools(root, out error) is { } tools && error is null && ValidateMessages(messages, out error))
        {
            var words = Reply.CountWords(SystemText(root));
            var lastUser = "";
            var afterToolResult = false;
            var called = new HashSet<string>(StringComparer.Ordinal);
            foreach (var message in messages.EnumerateArray())
            {
                foreach (var block in Blocks(message).Where(b => IsType(b, "tool_use")))
                {
                    if (StringOf(block, "name") is { } used)
                        called.Add(used);
                }

                var text = Text(message.GetProperty("content"));
                words += Reply.CountWords(text);
                var isUser = message.GetProperty("role").ValueEquals("user");
                afterToolResult = isUser && Blocks(message).Any(b => IsType(b, "tool_result"));
                if (isUser && Blocks(message).All(b => !IsType(b, "tool_result")))
                    lastUser = text;
            }
            var (disabled, forced) = ToolChoice(root);
            var schema = OutputSchema(root, out var wantsJson);
            return new AnthropicRequest(model!, lastUser, words, max.GetInt32(), new StructuredAsk(tools, disabled, forced, afterToolResult, wantsJson, schema,
                CallRequired: AnyToolRequired(root), Called: called));
        }
        return null;
    }

    private static bool ValidateMessages(JsonElement messages, out string? error)
    {
        error = null;
        var list = messages.EnumerateArray().ToList();
        if (list.Count == 0)
        {
            error = "messages: at least one message is required";
            return false;
        }
        HashSet<string> previousToolUses = [];
        for (var i = 0; i < list.Count; i++)
        {
            var message = list[i];
            var role = message.ValueKind == JsonValueKind.Object && message.TryGetProperty("role", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            if (role is not ("user" or "assistant"))
                error = $"messages.{i}.role: Input should be 'user' or 'assistant'";
            else if (!message.TryGetProperty("content", out var content) || content.ValueKind is not (JsonValueKind.String or JsonValueKind.Array))
                error = $"messages.{i}.content: Field required";
            else if (i == 0 && role != "user")
                error = "messages: first message must use the \"user\" role";
            else if (i > 0 && list[i - 1].GetProperty("role").ValueEquals(role))
                error = $"messages: roles must alternate between \"user\" and \"assistant\", but found multiple \"{role}\" roles in a row";
            else
                error = ToolPairing(list, i, previousToolUses);
            if (error is not null)
                return false;
            previousToolUses = [.. Blocks(message).Where(b => IsType(b, "tool_use")).Select(b => StringOf(b, "id") ?? "")];
        }
        return true;
    }

    /// <summary>
    /// Every tool_result answers a tool_use of the message before, and every tool_use of an assistant message that
    /// has a successor is answered there: the real API rejects a conversation that breaks either rule.
    /// </summary>
    private static string? ToolPairing(List<JsonElement> messages, int index, HashSet<string> previousToolUses)
    {
        var results = Blocks(messages[index]).Where(b => IsType(b, "tool_result")).Select(b => StringOf(b, "tool_use_id") ?? "").ToList();
        var unexpected = results.Where(id => !previousToolUses.Contains(id)).ToList();
        if (unexpected.Count > 0)
        {
            return $"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: {string.Join(", ", unexpected)}. "
                + "Each `tool_result` block must have a corresponding `tool_use` block in the previous message.";
        }
        var unanswered = previousToolUses.Where(id => !results.Contains(id)).ToList();
        return unanswered.Count == 0 ? null
            : $"messages.{index - 1}: `tool_use` ids were found without `tool_result` blocks immediately after: {string.Join(", ", unanswered)}. "
              + "Each `tool_use` block must have a corresponding `tool_result` block in the next message.";
    }

    private static List<OfferedTool>? Tools(JsonElement root, out string? error)
    {
        error = null;
        var tools = new List<OfferedTool>();
        if (!root.TryGetProperty("tools", out var offered) || offered.ValueKind != JsonValueKind.Array)
            return tools;
        var i = 0;
        foreach (var tool in offered.EnumerateArray())
        {
            if (StringOf(tool, "name") is not { } name)
                error = $"tools.{i}.name: Field required";
            else if (!tool.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                error = $"tools.{i}.input_schema: Field required";
            else
                tools.Add(new OfferedTool(name, JsonNode.Parse(schema.GetRawText())));
            if (error is not null)
                return null;
            i++;
        }
        return tools;
    }

    /// <summary>tool_choice: {"type": "auto" | "any" | "tool" | "none", "name"?}; "any" calls some tool, here the first.</summary>
    private static (bool Disabled, string? Forced) ToolChoice(JsonElement root)
    {
        if (!root.TryGetProperty("tool_choice", out var choice) || choice.ValueKind != JsonValueKind.Object)
            return (false, null);
        return (IsType(choice, "none"), IsType(choice, "tool") ? StringOf(choice, "name") : null);
    }

    /// <summary>tool_choice {"type": "any"}: some tool must be called.</summary>
    private static bool AnyToolRequired(JsonElement root) =>
        root.TryGetProperty("tool_choice", out var choice) && choice.ValueKind == JsonValueKind.Object && IsType(choice, "any");

    /// <summary>Structured outputs: output_config.format {"type": "json_schema", "schema"}; clients without it force a tool.</summary>
    private static JsonNode? OutputSchema(JsonElement root, out bool wantsJson)
    {
        wantsJson = root.TryGetProperty("output_config", out var config) && config.ValueKind == JsonValueKind.Object
            && config.TryGetProperty("format", out var format) && format.ValueKind == JsonValueKind.Object && IsType(format, "json_schema");
        return wantsJson && config.GetProperty("format").TryGetProperty("schema", out var schema) && schema.ValueKind == JsonValueKind.Object
            ? JsonNode.Parse(schema.GetRawText()) : null;
    }

    private static string SystemText(JsonElement root) => root.TryGetProperty("system", out var system) ? Text(system) : "";

    /// <summary>A string, or the text of text blocks and of tool results (whose content is a string or text blocks).</summary>
    private static string Text(JsonElement content)
    {
        if (content.ValueKind == JsonValueKind.String)
            return content.GetString()!;
        if (content.ValueKind != JsonValueKind.Array)
            return "";
        var text = new StringBuilder();
        foreach (var block in content.EnumerateArray())
        {
            if (IsType(block, "text") && StringOf(block, "text") is { } t)
                text.Append(t).Append(' ');
            else if (IsType(block, "tool_result") && block.TryGetProperty("content", out var result))
                text.Append(Text(result)).Append(' ');
        }
        return text.ToString().TrimEnd();
    }

    private static IEnumerable<JsonElement> Blocks(JsonElement message) =>
        message.TryGetProperty("content", out var content) && content.ValueKind == JsonValueKind.Array
            ? content.EnumerateArray().Where(b => b.ValueKind == JsonValueKind.Object)
            : [];

    private static bool IsType(JsonElement block, string type) =>
        block.ValueKind == JsonValueKind.Object && block.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.ValueEquals(type);

    private static string? StringOf(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
