namespace ThinkWatch.Console.Localization;

/// <summary>The console's visible strings: Strings.resx (English) and Strings.zh-Hans.resx (简体中文), read through IStringLocalizer&lt;Strings&gt;.</summary>
public sealed class Strings;

public static class ConsoleCultures
{
    public static readonly string[] Supported = ["en", "zh-Hans"];
}
