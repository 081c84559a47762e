using System.Text;

namespace Worker.LastResort;

/// <summary>
/// Fills a chain's template: <c>{key}</c> becomes the request's <c>metadata[key]</c> (keys match exactly, as metadata is
/// echoed), a key the metadata lacks becomes the configured missing value, and <c>{{</c> / <c>}}</c> are literal braces.
/// Templates are checked at start (<see cref="Problem"/>), so filling never fails.
/// </summary>
public static class TemplateText
{
    public static string Fill(string template, IReadOnlyDictionary<string, string>? metadata, string missingValue = "")
    {
        var text = new StringBuilder(template.Length);
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                text.Append(c);
                i++;
            }
            else if (c == '{' && template.IndexOf('}', i + 1) is var end and > 0)
            {
                var key = template[(i + 1)..end];
                text.Append(metadata is not null && metadata.TryGetValue(key, out var value) && value is not null ? value : missingValue);
                i = end;
            }
            else
            {
                text.Append(c);
            }
        }

        return text.ToString();
    }

    /// <summary>What is wrong with the template's braces, or null: a lone brace is more likely a typo than meant.</summary>
    public static string? Problem(string template)
    {
        for (var i = 0; i < template.Length; i++)
        {
            var c = template[i];
            if ((c == '{' || c == '}') && i + 1 < template.Length && template[i + 1] == c)
            {
                i++;
                continue;
            }

            if (c == '}')
                return $"has a '}}' at position {i} that closes no placeholder (write '}}}}' for a literal brace)";
            if (c != '{')
                continue;
            var end = template.IndexOfAny(['{', '}'], i + 1);
            if (end < 0 || template[end] != '}')
                return $"has a '{{' at position {i} that is not closed (write '{{{{' for a literal brace)";
            if (string.IsNullOrWhiteSpace(template[(i + 1)..end]))
                return $"has an empty placeholder at position {i}";
            i = end;
        }

        return null;
    }
}
