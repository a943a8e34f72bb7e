package org.chatloop.core;

/** The naming rules for nicks and rooms. Pure. */
final class Names {
    /** Longest nick or room name, in characters. */
    static final int MAX_LENGTH = 32;
    static final String RULE = "1-" + MAX_LENGTH + " characters of A-Z a-z 0-9 _ . -";

    private Names() {
    }

    /** @return whether {@code name} is 1-32 characters of {@code [A-Za-z0-9_.-]} */
    static boolean isValid(String name) {
        int n = name.length();
        if (n < 1 || n > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = name.charAt(i);
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                    || c == '_' || c == '.' || c == '-';
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    /**
     * @return the key under which names compare: case-insensitive in ASCII. Only {@code A-Z} are
     *         folded, so no other character (such as U+212A KELVIN SIGN, which
     *         {@link String#toLowerCase} turns into {@code k}) can match a valid name.
     */
    static String key(String name) {
        for (int i = 0, n = name.length(); i < n; i++) {
            char c = name.charAt(i);
            if (c >= 'A' && c <= 'Z') {
                char[] chars = name.toCharArray();
                for (int j = i; j < n; j++) {
                    char d = chars[j];
                    if (d >= 'A' && d <= 'Z') {
                        chars[j] = (char) (d + ('a' - 'A'));
                    }
                }
                return new String(chars);
            }
        }
        return name;
    }
}
