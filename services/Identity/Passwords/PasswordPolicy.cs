namespace ThinkWatch.Identity.Passwords;

/// <summary>At least 8 characters with an upper-case letter, a lower-case letter and a digit; at most 128.</summary>
public static class PasswordPolicy
{
    public const int MinLength = 8;
    public const int MaxLength = 128;

    /// <summary>Every rule the password breaks, as sentences; empty when it is acceptable.</summary>
    public static IReadOnlyList<string> Check(string? password)
    {
        if (string.IsNullOrEmpty(password))
        {
            return ["A password is required."];
        }
        var problems = new List<string>();
        if (password.Length < MinLength)
        {
            problems.Add($"Use at least {MinLength} characters.");
        }
        if (password.Length > MaxLength)
        {
            problems.Add($"Use at most {MaxLength} characters.");
        }
        if (!password.Any(char.IsUpper))
        {
            problems.Add("Include an upper-case letter.");
        }
        if (!password.Any(char.IsLower))
        {
            problems.Add("Include a lower-case letter.");
        }
        if (!password.Any(char.IsDigit))
        {
            problems.Add("Include a digit.");
        }
        return problems;
    }
}
